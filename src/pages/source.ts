import { AppError, type SerializedError } from '../errors'
import { errorText } from '../log'
import { readAdminKey, type UpstreamSettings, type UpstreamTrace } from '../upstream/client'
import type { PageQuery } from '../upstream/query'
import type { FreshnessPolicy } from './freshness'
import type { CachedPage } from './page'

export interface FetchPageRequest {
  query: PageQuery
  upstream: UpstreamSettings
  requestId: string
  /** The gateway clock when the caller asked: a fetched page is stamped with it. */
  now: number
  /** The caller's windows, so a page fetched moments ago can answer late arrivals while fresh. */
  policy: FreshnessPolicy
  /** The `storedAt` of the page the caller already has, if any: only a newer one will do. */
  seenStoredAt: number | null
  /**
   * A `no-cache` or `max-age=N` request: join a fetch under way, but take an earlier result only
   * from this very second (an outage's failure excepted: see `PageFetcher`).
   */
  fresh: boolean
  /** With `fresh`, the request's `max-age=N`: a page still fresh and no older will also do. */
  maxAgeSeconds?: number
  /** The pre-warm cron's fetch: the page is marked as fetched ahead of demand. */
  prewarm?: boolean
}

export type FetchPageResult =
  | {
      ok: true
      page: CachedPage
      /** True for exactly one caller per upstream call: the one that stores the page. */
      leader: boolean
      trace: UpstreamTrace | null
    }
  | {
      ok: false
      error: SerializedError
      trace: UpstreamTrace | null
      /** Set when the failure is another caller's: no upstream call was made for this one. */
      shared?: SharedFailure
    }

/** What a caller handed another caller's failure learns of the upstream call that made it. */
export interface SharedFailure {
  /** The status the upstream answered, if it answered at all. */
  upstreamStatus: number | null
}

/** Where the page service gets a page it does not hold: one fetch per page, however many ask. */
export interface PageSource {
  fetchPage(key: string, req: FetchPageRequest): Promise<FetchPageResult>
}

/**
 * The page source a request uses: the page's Durable Object. A missing admin key is an operator
 * error raised before any call. A call that fails with an error the platform marks retryable (the
 * object was reset or moved, say) is made once more; one that still fails, or was refused as
 * overloaded, counts as an upstream fault, so the caller's stale page can still stand in.
 */
export function pageFetcherSource(env: Pick<Env, 'OPENAI_ADMIN_KEY' | 'PAGE_FETCHER'>): PageSource {
  return {
    async fetchPage(key, req) {
      readAdminKey(env)
      for (let attempt = 0; ; attempt++) {
        try {
          const stub = env.PAGE_FETCHER.get(env.PAGE_FETCHER.idFromName(key))
          return (await stub.fetchPage(req)) as FetchPageResult
        } catch (err) {
          const { retryable, overloaded } = (err ?? {}) as {
            retryable?: boolean
            overloaded?: boolean
          }
          if (attempt === 0 && retryable === true && overloaded !== true) continue
          const calls = attempt === 0 ? '1 call' : `${attempt + 1} calls`
          const detail = `page fetcher unreachable after ${calls}: ${errorText(err)}`
          return {
            ok: false,
            error: new AppError('upstream_error', { detail }).toJSON(),
            trace: null,
          }
        }
      }
    },
  }
}
