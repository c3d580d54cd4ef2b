import { DurableObject } from 'cloudflare:workers'
import { AppError } from '../errors'
import { errorText, setLogVersion } from '../log'
import { fetchGroupsPage, readAdminKey, type UpstreamTrace } from '../upstream/client'
import { freshness } from './freshness'
import { type CachedPage, computeEtag } from './page'
import type { FetchPageRequest, FetchPageResult } from './source'

/** A `no-cache` request within this long of the last fetch shares its result. */
const FRESH_REUSE_MS = 1_000

/**
 * One instance per cache key (`idFromName(key)`). Concurrent misses for the same page, from any
 * isolate anywhere, reach the same instance, which makes one upstream call and hands its result to
 * all of them. It holds no storage: only the call under way and the last page it fetched.
 */
export class PageFetcher extends DurableObject<Env> {
  private inflight: { result: Promise<FetchPageResult>; maxRetries: number } | null = null
  private last: CachedPage | null = null

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    // A Durable Object may live in an isolate of its own: its lines carry the version too.
    setLogVersion(env.VERSION?.id ?? null, true)
  }

  async fetchPage(req: FetchPageRequest): Promise<FetchPageResult> {
    while (this.inflight) {
      const current = this.inflight
      const shared = await current.result
      // A failure of fewer attempts than this caller asked for (made for a caller with a stale
      // page in hand) is not this caller's answer: it follows a fetch with as many, or makes one.
      if (shared.ok || current.maxRetries >= req.upstream.maxRetries) return follower(shared)
      if (this.inflight === current) break
    }
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
    const inflight = { result: this.fetchFromUpstream(req), maxRetries: req.upstream.maxRetries }
    this.inflight = inflight
    try {
      const result = await inflight.result
      if (result.ok) this.last = result.page
      return result
    } finally {
      if (this.inflight === inflight) this.inflight = null
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
      const page = {
        body: text,
        storedAt: req.now,
        etag: await computeEtag(text),
        ...(req.prewarm ? { prewarmed: true } : {}),
      }
      return { ok: true, page, leader: true, trace }
    } catch (err) {
      const error = err instanceof AppError ? err : AppError.upstreamFailed(errorText(err))
      return { ok: false, error: error.toJSON(), trace }
    }
  }
}

function follower(result: FetchPageResult): FetchPageResult {
  return result.ok ? { ...result, leader: false, trace: null } : { ...result, trace: null }
}
