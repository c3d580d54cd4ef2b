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
  /** Upstream calls per cron run at most (0: off); how often demand counts are sent. */
  prewarm: { maxPages: number; flushMs: number }
}

/** What the page service keeps between requests: one per isolate in production. */
export interface PageState {
  memory: MemoryPages
  generation: CacheGeneration
  /** Background refreshes under way: when each started, by cache key. */
  refreshing: Map<string, number>
  now: () => number
}

/** What the page service works with, for a request or a cron run: never an HTTP context. */
export interface PageDeps {
  settings: PageSettings
  kv: KVNamespace
  state: PageState
  source: PageSource
  waitUntil(promise: Promise<unknown>): void
  requestId: string
  /** For pre-warm. */
  countDemand(query: PageQuery, generation: string, now: number): void
  /** Told what the cache did, and what the upstream call made for the request did, if any. */
  report(outcome: CacheOutcome, upstream: UpstreamTrace | null): void
}

/** What every fetch of a page carries. */
export function fetchRequest(
  deps: PageDeps,
  query: PageQuery,
  now: number,
  hasFallback: boolean,
): Omit<FetchPageRequest, 'seenStoredAt' | 'fresh'> {
  const { upstream, freshness: policy } = deps.settings
  // With a stale page to fall back on, one attempt: the caller gets an answer sooner.
  const attempts = hasFallback ? { ...upstream, maxRetries: 0 } : upstream
  return { query, upstream: attempts, requestId: deps.requestId, now, policy }
}
