import { DurableObject } from 'cloudflare:workers'
import { AppError, type SerializedError } from '../errors'
import { setLogVersion } from '../log'
import { fetchGroupsPage, isQueryRefusal, readAdminKey, retryAfterMs } from '../upstream/client'
import type { FetchPageRequest, FetchPageResult } from './deps'
import { type FreshnessPolicy, freshness, withinMaxAge } from './freshness'
import { type CachedPage, computeEtag } from './page'

/** So no partner drives the upstream (and KV's 1 write/s per key) faster: see `freshEnough`. */
const FRESH_REUSE_MS = 1_000
/** A storm becomes one call per page every few seconds; a recovery is still seen within seconds. */
const OUTAGE_SHARE_MS = 5_000
/** The longest `Retry-After` the upstream client waits on. */
const MAX_RATE_LIMIT_SHARE_MS = 60_000

type Failed = Extract<FetchPageResult, { ok: false }>

/** One per cache key: concurrent misses for a page, from any isolate, share one upstream call. */
export class PageFetcher extends DurableObject<Env> {
  private inflight: { result: Promise<FetchPageResult>; maxRetries: number } | null = null
  private last: CachedPage | null = null
  /** Answers callers for `forMs` after `at` (its caller's clock) if they ask no more retries. */
  private failure: { answer: Failed; at: number; forMs: number; maxRetries: number } | null = null

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    // A Durable Object may live in an isolate of its own: its lines carry the version too.
    setLogVersion(env.VERSION?.id ?? null, true)
  }

  async fetchPage(req: FetchPageRequest): Promise<FetchPageResult> {
    while (this.inflight) {
      const current = this.inflight
      const result = await current.result
      if (result.ok) return { ...result, leader: false, trace: null }
      // Fewer attempts than this caller asked for (made for one with a stale page): not its answer.
      if (current.maxRetries >= req.upstream.maxRetries) return shared(result)
      if (this.inflight === current) break
    }
    const known = this.reusablePage(req) ?? this.standingFailure(req)
    if (known) return known
    const inflight = { result: this.fetchAndRemember(req), maxRetries: req.upstream.maxRetries }
    this.inflight = inflight
    try {
      return await inflight.result
    } finally {
      if (this.inflight === inflight) this.inflight = null
    }
  }

  /** A page fetched for someone else moments ago, if it answers this caller too. */
  private reusablePage(req: FetchPageRequest): FetchPageResult | null {
    const page = this.last
    if (page === null) return null
    const newer = req.seenStoredAt === null || page.storedAt > req.seenStoredAt
    const reusable = req.fresh
      ? freshEnough(page.storedAt, req)
      : newer && freshness(page.storedAt, req.now, req.policy) === 'fresh'
    return reusable ? { ok: true, page, leader: false, trace: null } : null
  }

  /**
   * A refusal of the query is shared as a page would be; an outage's failure with every caller that
   * asked for no more retries, no-cache included, so no partner multiplies calls during an outage.
   */
  private standingFailure(req: FetchPageRequest): FetchPageResult | null {
    const f = this.failure
    // Callers' clocks differ a little (an injected test clock, a lot): the window holds both ways.
    if (f === null || Math.abs(req.now - f.at) >= f.forMs) return null
    const answers = isQueryRefusal(f.answer.error.status)
      ? !req.fresh || freshEnough(f.at, req)
      : f.maxRetries >= req.upstream.maxRetries
    return answers ? f.answer : null
  }

  private async fetchAndRemember(req: FetchPageRequest): Promise<FetchPageResult> {
    const started = Date.now()
    const result = await this.fetchFromUpstream(req)
    // A failure is learned when the last attempt ended, not when the first began.
    const at = req.now + (Date.now() - started)
    const { maxRetries } = req.upstream
    if (result.ok) this.last = result.page
    this.failure = result.ok
      ? null
      : { answer: shared(result), at, forMs: standsForMs(result.error, req.policy), maxRetries }
    return result
  }

  private async fetchFromUpstream(req: FetchPageRequest): Promise<FetchPageResult> {
    try {
      const { query, requestId } = req
      const adminKey = readAdminKey(this.env)
      const result = await fetchGroupsPage({ ...req.upstream, adminKey, query, requestId })
      if (!result.ok) return { ok: false, error: result.error.toJSON(), trace: result.trace }
      const { text, trace } = result
      const page: CachedPage = { body: text, storedAt: req.now, etag: await computeEtag(text) }
      if (req.prewarm) page.prewarmed = true
      return { ok: true, page, leader: true, trace }
    } catch (err) {
      const error = err instanceof AppError ? err : new AppError('upstream_error', { cause: err })
      return { ok: false, error: error.toJSON(), trace: null }
    }
  }
}

/** Whether what was learned at `at` answers a `no-cache` (this second) or `max-age=N` caller. */
function freshEnough(at: number, { now, policy, maxAgeSeconds }: FetchPageRequest): boolean {
  if (now - at < FRESH_REUSE_MS) return true
  return maxAgeSeconds !== undefined && withinMaxAge(at, now, policy, maxAgeSeconds)
}

/**
 * A refusal (400, 404, 422) stands while a page would be fresh; a 429 as long as the hint relayed
 * to callers, so one that obeys it never gets the same 429; any other failure a few seconds.
 */
function standsForMs(error: SerializedError, policy: FreshnessPolicy): number {
  if (isQueryRefusal(error.status)) return policy.ttlSeconds * 1000
  if (error.status !== 429) return OUTAGE_SHARE_MS
  const hinted = retryAfterMs(new Headers(error.headers))
  return hinted === null ? OUTAGE_SHARE_MS : Math.min(hinted, MAX_RATE_LIMIT_SHARE_MS)
}

/** A failure as handed to a caller no upstream call was made for. */
function shared({ error, trace }: Failed): Failed {
  return { ok: false, error, trace: null, shared: { upstreamStatus: trace?.status ?? null } }
}
