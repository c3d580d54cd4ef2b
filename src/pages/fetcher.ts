import { DurableObject } from 'cloudflare:workers'
import { AppError, type SerializedError } from '../errors'
import {
  fetchGroupsPage,
  readAdminKey,
  type UpstreamSettings,
  type UpstreamTrace,
} from '../upstream/client'
import type { PageQuery } from '../upstream/query'
import { type FreshnessPolicy, freshness } from './freshness'
import { type CachedPage, computeEtag } from './page'

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
  /** A `no-cache` request: join a fetch under way, but never take an earlier result. */
  fresh: boolean
}

export type FetchPageResult =
  | {
      ok: true
      page: CachedPage
      /** True for exactly one caller per upstream call: the one that stores the page. */
      leader: boolean
      trace: UpstreamTrace | null
    }
  | { ok: false; error: SerializedError; trace: UpstreamTrace | null }

/** Where the page service gets a page it does not hold: one fetch per page, however many ask. */
export interface PageSource {
  fetchPage(key: string, req: FetchPageRequest): Promise<FetchPageResult>
}

/** A `no-cache` request within this long of the last fetch shares its result. */
const FRESH_REUSE_MS = 1_000

/**
 * One instance per cache key (`idFromName(key)`). Concurrent misses for the same page, from any
 * isolate anywhere, reach the same instance, which makes one upstream call and hands its result to
 * all of them. It holds no storage: only the call under way and the last page it fetched.
 */
export class PageFetcher extends DurableObject<Env> {
  private inflight: Promise<FetchPageResult> | null = null
  private last: CachedPage | null = null

  async fetchPage(req: FetchPageRequest): Promise<FetchPageResult> {
    if (this.inflight) return follower(await this.inflight)
    const last = this.last
    const reusable = req.fresh
      ? // no-cache: only a page fetched this very second, so no partner can drive the upstream
        // (and KV's one write per key per second) faster than that.
        last !== null && req.now - last.storedAt < FRESH_REUSE_MS
      : last !== null &&
        (req.seenStoredAt === null || last.storedAt > req.seenStoredAt) &&
        freshness(last.storedAt, req.now, req.policy) === 'fresh'
    if (last && reusable) {
      // Fetched for someone else moments ago, and newer than what this caller has.
      return { ok: true, page: last, leader: false, trace: null }
    }
    this.inflight = this.fetchFromUpstream(req)
    try {
      const result = await this.inflight
      if (result.ok) this.last = result.page
      return result
    } finally {
      this.inflight = null
    }
  }

  private async fetchFromUpstream(req: FetchPageRequest): Promise<FetchPageResult> {
    const trace: UpstreamTrace = {}
    try {
      const { text } = await fetchGroupsPage({
        ...req.upstream,
        adminKey: readAdminKey(this.env),
        query: req.query,
        requestId: req.requestId,
        trace,
      })
      const page = { text, storedAt: req.now, etag: await computeEtag(text) }
      return { ok: true, page, leader: true, trace }
    } catch (err) {
      const error =
        err instanceof AppError
          ? err
          : AppError.upstreamFailed(
              err instanceof Error ? `${err.name}: ${err.message}` : 'unknown',
            )
      return { ok: false, error: error.toJSON(), trace }
    }
  }
}

function follower(result: FetchPageResult): FetchPageResult {
  return result.ok ? { ...result, leader: false, trace: null } : { ...result, trace: null }
}

/**
 * The page source a request uses: the page's Durable Object. A missing admin key is an operator
 * error raised before any call; an object that cannot be reached (an overload or a deploy, say)
 * counts as an upstream fault, so the caller's stale page can still stand in.
 */
export function pageFetcherSource(env: Env): PageSource {
  return {
    async fetchPage(key, req) {
      readAdminKey(env)
      try {
        const stub = env.PAGE_FETCHER.get(env.PAGE_FETCHER.idFromName(key))
        return (await stub.fetchPage(req)) as FetchPageResult
      } catch (err) {
        const detail = `page fetcher unreachable: ${err instanceof Error ? err.message : 'unknown'}`
        return { ok: false, error: AppError.upstreamFailed(detail).toJSON(), trace: null }
      }
    },
  }
}
