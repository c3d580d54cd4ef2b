import { AppError, type SerializedError } from '../errors'
import { errorText } from '../log'
import { readAdminKey, type UpstreamSettings, type UpstreamTrace } from '../upstream/client'
import type { PageQuery } from '../upstream/schemas'
import type { Forward, FreshnessPolicy } from './freshness'
import type { CacheGeneration } from './generation'
import type { MemoryLimits, MemoryPages } from './memory'
import type { CachedPage } from './page'

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
  /** Where a page not held comes from: one fetch per page, however many ask. */
  source: { fetchPage(key: string, req: FetchPageRequest): Promise<FetchPageResult> }
  waitUntil(promise: Promise<unknown>): void
  requestId: string
  countDemand(query: PageQuery, generation: string, now: number): void
  /** Told what the cache did, and what the upstream call made for the request did, if any. */
  report(outcome: CacheOutcome, upstream: UpstreamTrace | null): void
}

/** What the cache did for a request: said in `Cache-Status`, the log line and the data point. */
export type CacheOutcome =
  /** `stale`: served within stale-while-revalidate. `ttl`: seconds of freshness left. */
  | { kind: 'hit' | 'stale'; ttl: number }
  /** `collapsed`: another caller's fetch answered; `uncached`: the cache could not be used. */
  | { kind: 'fetched'; fwd: Forward; ttl: number; how: 'stored' | 'collapsed' | 'uncached' }
  | { kind: 'stale-if-error'; fwd: Forward; fwdStatus: number | null; ttl: number }
  /** `shared`: another caller's failure, moments old, answered without a new call. */
  | { kind: 'failed'; fwd: Forward; fwdStatus: number | null; shared: boolean }
  /** `only-if-cached` that the cache could not answer. */
  | { kind: 'not-cached' }

export type PageSource = PageDeps['source']

export interface FetchPageRequest {
  query: PageQuery
  upstream: UpstreamSettings
  requestId: string
  /** The caller's clock: a fetched page is stamped with it. */
  now: number
  policy: FreshnessPolicy
  /** The `storedAt` of the page the caller has, if any: only a newer one will do. */
  seenStoredAt: number | null
  /** `no-cache` or `max-age=N`: an earlier result only from this second, or within max-age. */
  fresh: boolean
  maxAgeSeconds?: number
  prewarm?: boolean
}

export type FetchPageResult =
  /** `leader`: exactly one caller per upstream call, the one that stores the page. */
  | { ok: true; page: CachedPage; leader: boolean; trace: UpstreamTrace | null }
  /** `shared`: another caller's failure; no upstream call was made for this one. */
  | { ok: false; error: SerializedError; trace: UpstreamTrace | null; shared?: SharedFailure }

type SharedFailure = { upstreamStatus: number | null }

/**
 * The page's Durable Object, once the admin key is known to be set. A call the platform marks
 * retryable, not overloaded (reset or moved), is made again; a failure lets a stale page stand in.
 */
export function pageFetcherSource(env: Pick<Env, 'OPENAI_ADMIN_KEY' | 'PAGE_FETCHER'>): PageSource {
  return {
    async fetchPage(key, req) {
      readAdminKey(env)
      for (let calls = 1; ; calls++) {
        try {
          const stub = env.PAGE_FETCHER.get(env.PAGE_FETCHER.idFromName(key))
          return (await stub.fetchPage(req)) as FetchPageResult
        } catch (err) {
          const e = err as { retryable?: boolean; overloaded?: boolean } | null | undefined
          if (calls === 1 && e?.retryable === true && e.overloaded !== true) continue
          const tries = calls > 1 ? `${calls} calls` : '1 call'
          const detail = `page fetcher unreachable after ${tries}: ${errorText(err)}`
          const error = new AppError('upstream_error', { detail }).toJSON()
          return { ok: false, error, trace: null }
        }
      }
    },
  }
}
