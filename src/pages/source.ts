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

/** Where the page service gets a page it does not hold: one fetch per page, however many ask. */
export interface PageSource {
  fetchPage(key: string, req: FetchPageRequest): Promise<FetchPageResult>
}

/**
 * The page's Durable Object, once the admin key is known to be set. A call the platform marks
 * retryable and not overloaded (the object was reset or moved) is made once more; a failed one
 * counts as an upstream fault, so the caller's stale page can stand in.
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
