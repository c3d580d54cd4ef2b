import { DurableObject } from 'cloudflare:workers'
import { AppError, type SerializedError } from '../errors'
import { setLogVersion } from '../log'
import { fetchGroupsPage, isQueryRefusal, readAdminKey } from '../upstream/client'
import { type FreshnessPolicy, freshness, withinMaxAge } from './freshness'
import { type CachedPage, computeEtag } from './page'
import type { FetchPageRequest, FetchPageResult } from './source'

/** So no partner drives the upstream (and KV's 1 write/s per key) faster: see `freshEnough`. */
const FRESH_REUSE_MS = 1_000
/** A storm becomes one call per page every few seconds; a recovery is still seen within seconds. */
const OUTAGE_SHARE_MS = 5_000
/** The longest `Retry-After` the upstream client waits on. */
const MAX_RATE_LIMIT_SHARE_MS = 60_000

type Failed = Extract<FetchPageResult, { ok: false }>

/** Answers callers for `forMs` after `at` (its caller's clock), if they ask for no more retries. */
interface KnownFailure {
  answer: Failed
  at: number
  forMs: number
  maxRetries: number
}

/**
 * One instance per cache key: concurrent misses for a page, from any isolate anywhere, reach it,
 * and it makes one upstream call for them all. It holds only that call, the last page and failure.
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
      const result = await current.result
      if (result.ok) return { ...result, leader: false, trace: null }
      // A failure of fewer attempts than this caller asked for (made for a caller with a stale
      // page in hand) is not its answer: it follows a fetch with as many, or makes one.
      if (current.maxRetries >= req.upstream.maxRetries) return shared(result)
      if (this.inflight === current) break
    }
    const page = this.reusablePage(req)
    if (page) return { ok: true, page, leader: false, trace: null }
    const failure = this.standingFailure(req)
    if (failure) return failure
    const inflight = { result: this.fetchAndRemember(req), maxRetries: req.upstream.maxRetries }
    this.inflight = inflight
    try {
      return await inflight.result
    } finally {
      if (this.inflight === inflight) this.inflight = null
    }
  }

  /** A page fetched for someone else moments ago, if it answers this caller too. */
  private reusablePage(req: FetchPageRequest): CachedPage | null {
    const last = this.last
    if (last === null) return null
    if (req.fresh) return freshEnough(last.storedAt, req) ? last : null
    const newer = req.seenStoredAt === null || last.storedAt > req.seenStoredAt
    return newer && freshness(last.storedAt, req.now, req.policy) === 'fresh' ? last : null
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
    if (result.ok) {
      this.last = result.page
      this.failure = null
      return result
    }
    this.failure = {
      answer: shared(result),
      // Learned when the last attempt ended, not when the first began.
      at: req.now + (Date.now() - started),
      forMs: standsForMs(result.error, req.policy),
      maxRetries: req.upstream.maxRetries,
    }
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
  const { 'retry-after-ms': ms, 'Retry-After': seconds } = error.headers
  const hinted = ms !== undefined ? Number(ms) : Number(seconds) * 1000
  return Number.isFinite(hinted) ? Math.min(hinted, MAX_RATE_LIMIT_SHARE_MS) : OUTAGE_SHARE_MS
}

/** A failure as handed to a caller no upstream call was made for. */
function shared({ error, trace }: Failed): Failed {
  return { ok: false, error, trace: null, shared: { upstreamStatus: trace?.status ?? null } }
}
