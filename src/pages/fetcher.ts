import { DurableObject } from 'cloudflare:workers'
import { AppError, type SerializedError } from '../errors'
import { setLogVersion } from '../log'
import { fetchGroupsPage, isQueryRefusal, readAdminKey } from '../upstream/client'
import { ageSeconds, freshness } from './freshness'
import { type CachedPage, computeEtag } from './page'
import type { FetchPageRequest, FetchPageResult } from './source'

/** A `no-cache` request within this long of the last fetch shares its result. */
const FRESH_REUSE_MS = 1_000
/**
 * How long an outage's failure (5xx, timeout, network error, invalid page, refused admin key)
 * answers every caller instead of a new upstream call: a storm becomes one fetch per page every
 * few seconds, and a recovery is still seen within seconds.
 */
const OUTAGE_SHARE_MS = 5_000
/**
 * A 429 stands for as long as the upstream asked the gateway to wait, the hint relayed to callers
 * (so one that obeys it is never handed the same 429), up to the longest hint the client waits on.
 */
const MAX_RATE_LIMIT_SHARE_MS = 60_000

/** The last failure, kept to answer the callers that come while it stands. */
interface KnownFailure {
  error: SerializedError
  upstreamStatus: number | null
  /** When it was learned, on the gateway clock of the caller that made the call. */
  at: number
  /** How long it stands. */
  forMs: number
  /** About the query itself (400, 404, 422), rather than an outage. */
  refusal: boolean
  /** The retries its fetch was allowed. */
  maxRetries: number
}

/**
 * One instance per cache key (`idFromName(key)`). Concurrent misses for the same page, from any
 * isolate anywhere, reach the same instance, which makes one upstream call and hands its result to
 * all of them. It holds no storage: only the call under way, the last page it fetched, and the
 * last failure, which answers callers for a short while (see `standingFailure`).
 */
export class PageFetcher extends DurableObject<Env> {
  private inflight: { result: Promise<FetchPageResult>; maxRetries: number } | null = null
  private last: CachedPage | null = null
  private failure: KnownFailure | null = null

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
    const page = this.reusablePage(req)
    // Fetched for someone else moments ago, and newer than what this caller has.
    if (page) return { ok: true, page, leader: false, trace: null }
    const failure = this.standingFailure(req)
    if (failure) {
      const shared = { upstreamStatus: failure.upstreamStatus }
      return { ok: false, error: failure.error, trace: null, shared }
    }
    const inflight = { result: this.fetchAndRemember(req), maxRetries: req.upstream.maxRetries }
    this.inflight = inflight
    try {
      return await inflight.result
    } finally {
      if (this.inflight === inflight) this.inflight = null
    }
  }

  private reusablePage(req: FetchPageRequest): CachedPage | null {
    const last = this.last
    if (last === null) return null
    const fresh = freshness(last.storedAt, req.now, req.policy) === 'fresh'
    if (req.fresh) {
      // no-cache: only a page fetched this very second, so no partner can drive the upstream (and
      // KV's one write per key per second) faster than that; max-age=N: also a fresh one no older.
      const thisSecond = req.now - last.storedAt < FRESH_REUSE_MS
      return thisSecond || (fresh && withinMaxAge(last.storedAt, req)) ? last : null
    }
    const newer = req.seenStoredAt === null || last.storedAt > req.seenStoredAt
    return newer && fresh ? last : null
  }

  /**
   * The last failure, if it still answers this caller. A refusal of the query is the page's answer
   * as a page would be: shared while a page would be fresh, and with no-cache (or max-age=N) only
   * as a page is. An outage's failure is shared with every caller, no-cache included, so nothing a
   * partner sends multiplies the calls during an outage; but never with a caller that asked for
   * more retries than it was made with. The caller's stale page, if any, still stands in for it.
   */
  private standingFailure(req: FetchPageRequest): KnownFailure | null {
    const failure = this.failure
    // Callers' clocks differ a little (an injected test clock, a lot): the window holds both ways.
    if (failure === null || Math.abs(req.now - failure.at) >= failure.forMs) return null
    if (failure.refusal) {
      const thisSecond = req.now - failure.at < FRESH_REUSE_MS
      return !req.fresh || thisSecond || withinMaxAge(failure.at, req) ? failure : null
    }
    return failure.maxRetries >= req.upstream.maxRetries ? failure : null
  }

  private async fetchAndRemember(req: FetchPageRequest): Promise<FetchPageResult> {
    const started = Date.now()
    const result = await this.fetchFromUpstream(req)
    if (result.ok) {
      this.last = result.page
      this.failure = null
    } else {
      const refusal = isQueryRefusal(result.error.status)
      this.failure = {
        error: result.error,
        upstreamStatus: result.trace?.status ?? null,
        // Learned when the last attempt ended, not when the first began.
        at: req.now + (Date.now() - started),
        forMs: refusal ? req.policy.ttlSeconds * 1000 : outageMs(result.error),
        refusal,
        maxRetries: req.upstream.maxRetries,
      }
    }
    return result
  }

  private async fetchFromUpstream(req: FetchPageRequest): Promise<FetchPageResult> {
    try {
      const result = await fetchGroupsPage({
        ...req.upstream,
        adminKey: readAdminKey(this.env),
        query: req.query,
        requestId: req.requestId,
      })
      if (!result.ok) return { ok: false, error: result.error.toJSON(), trace: result.trace }
      const { text, trace } = result
      const page = { body: text, storedAt: req.now, etag: await computeEtag(text) }
      return {
        ok: true,
        page: req.prewarm ? { ...page, prewarmed: true } : page,
        leader: true,
        trace,
      }
    } catch (err) {
      const error = err instanceof AppError ? err : new AppError('upstream_error', { cause: err })
      return { ok: false, error: error.toJSON(), trace: null }
    }
  }
}

/** Whether a `max-age=N` caller accepts what was learned at `at`. */
function withinMaxAge(at: number, req: FetchPageRequest): boolean {
  return req.maxAgeSeconds !== undefined && ageSeconds(at, req.now) <= req.maxAgeSeconds
}

/** How long an outage's failure stands: a few seconds, or as long as a 429 asked us to wait. */
function outageMs(error: SerializedError): number {
  if (error.status !== 429) return OUTAGE_SHARE_MS
  // `retry-after-ms` when the upstream sent one, else `Retry-After` (at least 1 s): as relayed.
  const { 'retry-after-ms': ms, 'Retry-After': seconds } = error.headers
  const hinted = ms !== undefined ? Number(ms) : Number(seconds) * 1000
  return Number.isFinite(hinted) ? Math.min(hinted, MAX_RATE_LIMIT_SHARE_MS) : OUTAGE_SHARE_MS
}

function follower(result: FetchPageResult): FetchPageResult {
  if (result.ok) return { ...result, leader: false, trace: null }
  const shared = { upstreamStatus: result.trace?.status ?? null }
  return { ok: false, error: result.error, trace: null, shared }
}
