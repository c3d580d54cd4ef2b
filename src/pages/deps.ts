import type { UpstreamSettings, UpstreamTrace } from '../upstream/client'
import type { PageQuery } from '../upstream/query'
import type { FreshnessPolicy } from './freshness'
import type { CacheGeneration } from './generation'
import type { MemoryLimits, MemoryPages } from './memory'
import type { CacheOutcome } from './outcome'
import type { FetchPageRequest, PageSource } from './source'

/** The page cache's settings, from the worker's vars. */
export interface PageSettings {
  freshness: FreshnessPolicy
  upstream: UpstreamSettings
  memory: MemoryLimits
  /** Pre-warm: upstream calls per cron run at most (0: off); how often demand is sent. */
  prewarm: { maxPages: number; flushMs: number }
}

/** What the page service keeps between requests: one per isolate in production. */
export interface PageState {
  memory: MemoryPages
  generation: CacheGeneration
  /** Background refreshes under way, by cache key, and when each started. */
  refreshing: Map<string, number>
  /** The clock freshness is measured on, in epoch milliseconds: injectable for tests. */
  now: () => number
}

/** What the page service works with, for a request or a cron run: never an HTTP context. */
export interface PageDeps {
  settings: PageSettings
  kv: KVNamespace
  state: PageState
  source: PageSource
  /** Work that must finish after the answer (storing a page, a background refresh). */
  waitUntil(promise: Promise<unknown>): void
  requestId: string
  /** Counts a request for a page of a known generation, for pre-warm. */
  countDemand(query: PageQuery, generation: string, now: number): void
  /** Told what the cache did, and what the upstream call made for the request did, if any. */
  report(outcome: CacheOutcome, upstream: UpstreamTrace | null): void
}

/** What every fetch of a page carries, but what the caller already has. */
export function fetchRequest(
  deps: PageDeps,
  query: PageQuery,
  now: number,
  hasFallback: boolean,
): Omit<FetchPageRequest, 'seenStoredAt' | 'fresh'> {
  const { upstream, freshness: policy } = deps.settings
  return {
    query,
    // With a stale page to fall back on, one attempt: the caller gets an answer sooner.
    upstream: hasFallback ? { ...upstream, maxRetries: 0 } : upstream,
    requestId: deps.requestId,
    now,
    policy,
  }
}
