import { AppError } from '../errors'
import { log } from '../log'
import { isQueryRefusal, type UpstreamSettings, type UpstreamTrace } from '../upstream/client'
import type { PageQuery } from '../upstream/query'
import type { Demand, DemandCounter, DemandSink } from './demand'
import type { RequestDirectives } from './directives'
import { ageSeconds, type FreshnessPolicy, freshness, keepSeconds, ttlLeft } from './freshness'
import type { CacheGeneration } from './generation'
import { CACHE_NAME } from './headers'
import { cacheKey } from './key'
import { readPage, writePage } from './kv'
import type { MemoryLimits, MemoryPages } from './memory'
import type { CachedPage } from './page'
import type { FetchPageRequest, FetchPageResult, PageSource } from './source'

/** The page cache's settings, from the worker's vars. */
export interface PageSettings {
  freshness: FreshnessPolicy
  upstream: UpstreamSettings
  memory: MemoryLimits
  /** Pre-warm: upstream calls per cron run at most (0: off); how often demand is sent. */
  prewarm: { maxPages: number; flushMs: number }
}

/** What the page service works with: plain values and bindings, never an HTTP context. */
export interface PageDeps {
  settings: PageSettings
  kv: KVNamespace
  memory: MemoryPages
  generation: CacheGeneration
  /** Background refreshes under way in this isolate, by cache key, and when each started. */
  refreshing: Map<string, number>
  /** This isolate's request counts per page, and where they are sent in batches. */
  demand: DemandCounter
  demandSink: DemandSink
  source: PageSource
  /** Work that must finish after the answer (storing a page, a background refresh). */
  waitUntil(promise: Promise<unknown>): void
  requestId: string
  /** The partner asking (none for the cron): demand is counted per partner. */
  partner?: string
  /** Told what the upstream call made for this request did, for its log line. */
  onUpstreamCall(trace: UpstreamTrace): void
}

/** A page to serve, and what the cache did to get it (RFC 9211, without the cache's name). */
export interface ServedPage {
  page: CachedPage
  cacheStatus: string
}

/** How much longer than one attempt a caller with a fallback waits for a shared fetch. */
const FALLBACK_GRACE_MS = 250

/**
 * A page for a query, from the cache when it can, from the upstream when it must:
 * fresh -> served; within stale-while-revalidate -> served at once and refreshed in the background;
 * otherwise fetched through the page's source (one upstream call however many ask), with a page
 * within stale-if-error standing in if the upstream fails. Throws an `AppError` for what the
 * caller should see instead.
 */
export async function getPage(
  deps: PageDeps,
  query: PageQuery,
  directives: RequestDirectives,
  now: number,
): Promise<ServedPage> {
  const policy = deps.settings.freshness
  if (directives.noCache && directives.onlyIfCached) {
    throw notFromCache(
      'The request asked for both no-cache and only-if-cached: a page fetched from the upstream that may not be fetched. Send one of them.',
    )
  }
  const generation = await deps.generation.current(deps.kv, now)
  // Unknown generation: a page from before a purge could come back, so no cache this time.
  const cacheable = generation !== null
  const key = cacheKey(generation ?? 'unknown', query)
  if (generation !== null) countDemand(deps, query, generation, now)

  const cached = directives.noCache || !cacheable ? null : await lookup(deps, key, now)
  const state = cached ? freshness(cached.storedAt, now, policy) : 'expired'
  // max-age=N: a page older than N seconds, or stale at all, is not this client's answer (RFC 9111
  // 5.2.1.1); it is fetched anew within the same collapse as no-cache, and cannot stand in.
  const tooOld = cached !== null && !withinMaxAge(cached, state === 'fresh', directives, now)
  const usable = tooOld ? null : cached
  if (usable && state === 'fresh') {
    return { page: usable, cacheStatus: `hit; ttl=${ttlLeft(usable.storedAt, now, policy)}` }
  }
  if (usable && state === 'stale-while-revalidate') {
    // only-if-cached: the page as a plain request would get it, but no upstream call at all.
    if (!directives.onlyIfCached && claimRefresh(deps, key, now)) {
      deps.waitUntil(
        refresh(deps, key, query, now, usable).finally(() => {
          if (deps.refreshing.get(key) === now) deps.refreshing.delete(key)
        }),
      )
    }
    const ttl = ttlLeft(usable.storedAt, now, policy)
    return { page: usable, cacheStatus: `hit; ttl=${ttl}; detail=stale-while-revalidate` }
  }
  if (directives.onlyIfCached) {
    const servedFor = policy.ttlSeconds + policy.staleWhileRevalidateSeconds
    throw notFromCache(
      !cacheable
        ? 'The gateway cannot read its cache right now, and the request asked for only-if-cached.'
        : cached && tooOld
          ? tooOldMessage(cached, directives.maxAgeSeconds ?? 0, now)
          : cached
            ? `The gateway\u2019s copy of this page is ${ageSeconds(cached.storedAt, now)} seconds old, past the ${servedFor} seconds it serves a page without asking the upstream, and the request asked for only-if-cached.`
            : 'This page is not in the gateway\u2019s cache, and the request asked for only-if-cached.',
    )
  }

  const fwd = directives.noCache || tooOld ? 'request' : cached ? 'stale' : 'uri-miss'
  const fallback = usable && state === 'stale-if-error' ? usable : null
  const { maxAgeSeconds } = directives
  const fetching = deps.source.fetchPage(key, {
    ...pageRequest(deps, query, now, fallback !== null),
    seenStoredAt: cached?.storedAt ?? null,
    fresh: directives.noCache || maxAgeSeconds !== undefined,
    ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}),
  })
  // Whoever answers the caller, the page fetched is kept: in memory, and in KV by the leader.
  deps.waitUntil(
    fetching.then(
      (r) => (r.ok && cacheable ? keep(deps, key, r.page, r.leader) : undefined),
      () => undefined,
    ),
  )
  // With a page to fall back on, wait no longer than one attempt, even behind another caller's
  // retrying fetch: that fetch goes on, and its page is still kept, without us.
  const result = fallback
    ? await Promise.race([fetching, timedOut(deps.settings.upstream.timeoutMs + FALLBACK_GRACE_MS)])
    : await fetching
  if (result.trace) deps.onUpstreamCall(result.trace)

  if (result.ok) {
    const how = !result.leader ? 'collapsed' : cacheable ? 'stored' : 'detail=cache-unavailable'
    const ttl = ttlLeft(result.page.storedAt, now, policy)
    return {
      page: result.page,
      cacheStatus: `fwd=${fwd}; fwd-status=200; ${how}; ttl=${ttl}`,
    }
  }
  const upstreamStatus = result.trace?.status ?? result.shared?.upstreamStatus
  const fwdStatus = upstreamStatus ? `; fwd-status=${upstreamStatus}` : ''
  // Only the upstream's own failures are covered: a refusal of the query (400, 404, 422) stands.
  if (fallback && (result.error.status >= 500 || result.error.status === 429)) {
    const ttl = ttlLeft(fallback.storedAt, now, policy)
    return {
      page: fallback,
      cacheStatus: `fwd=${fwd}${fwdStatus}; ttl=${ttl}; detail=stale-if-error`,
    }
  }
  const { error } = result
  // Another caller's failure, under way or moments old: no upstream call was made for this one.
  const shared = result.shared ? '; collapsed; detail=failure-shared' : ''
  const cacheStatus = `${CACHE_NAME}; fwd=${fwd}${fwdStatus}${shared}`
  throw new AppError(error.status as 502, {
    ...error.body.error,
    headers: { ...error.headers, 'Cache-Status': cacheStatus },
    detail: error.detail,
    level: error.level,
  })
}

/** Whether a page is one a `max-age=N` request accepts: fresh, and no older than N seconds. */
function withinMaxAge(
  page: CachedPage,
  fresh: boolean,
  directives: RequestDirectives,
  now: number,
): boolean {
  const { maxAgeSeconds } = directives
  if (maxAgeSeconds === undefined) return true
  return fresh && ageSeconds(page.storedAt, now) <= maxAgeSeconds
}

function tooOldMessage(page: CachedPage, maxAge: number, now: number): string {
  const age = ageSeconds(page.storedAt, now)
  const why =
    age > maxAge
      ? `older than the max-age=${maxAge} the request accepts`
      : `no longer fresh, and the request's max-age accepts no stale page`
  return `The gateway\u2019s copy of this page is ${age} seconds old, ${why}, and the request asked for only-if-cached.`
}

/** The 504 for an only-if-cached request the cache cannot answer: the client's own choice. */
function notFromCache(message: string): AppError {
  return new AppError(504, {
    message,
    type: 'invalid_request_error',
    code: 'not_cached',
    headers: { 'Cache-Status': `${CACHE_NAME}; detail=only-if-cached` },
    shouldRetry: false,
    level: 'info',
  })
}

/** What pre-warming one page did: `refused` is the upstream's answer about the query itself. */
export type AheadOutcome =
  | { done: 'refreshed'; upstreamCalls: number }
  | { done: 'fresh-enough' }
  | { done: 'refused'; status: number; upstreamCalls: number }
  | { done: 'failed'; status: number; upstreamCalls: number }

/**
 * Refreshes a page ahead of demand when it would otherwise leave stale-while-revalidate before
 * `horizonMs` passes: through the same source as a request (one upstream call however many ask,
 * one attempt), kept in KV marked as pre-warmed.
 */
export async function refreshAhead(
  deps: PageDeps,
  query: PageQuery,
  generation: string,
  now: number,
  horizonMs: number,
): Promise<AheadOutcome> {
  const key = cacheKey(generation, query)
  const cached = await readPage(deps.kv, key, deps.requestId)
  const policy = deps.settings.freshness
  const servedForMs = (policy.ttlSeconds + policy.staleWhileRevalidateSeconds) * 1000
  if (cached && cached.storedAt + servedForMs - now > horizonMs) return { done: 'fresh-enough' }
  const result = await deps.source.fetchPage(key, {
    ...pageRequest(deps, query, now, true),
    seenStoredAt: cached?.storedAt ?? null,
    fresh: false,
    prewarm: true,
  })
  const upstreamCalls = result.trace?.attempts ?? 0
  if (!result.ok) {
    const { status } = result.error
    return { done: isQueryRefusal(status) ? 'refused' : 'failed', status, upstreamCalls }
  }
  await keep(deps, key, result.page, result.leader)
  return { done: 'refreshed', upstreamCalls }
}

/** What every fetch of a page carries, but for what the caller already has. */
function pageRequest(
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

function timedOut(ms: number): Promise<FetchPageResult> {
  return new Promise((resolve) =>
    setTimeout(
      () =>
        resolve({
          ok: false,
          error: AppError.upstreamFailed(
            `no answer within ${ms} ms; serving the stale page`,
          ).toJSON(),
          trace: null,
        }),
      ms,
    ),
  )
}

/**
 * The background half of stale-while-revalidate; the page's source keeps it to one at a time.
 * Nobody waits for it, so what stops it (a missing secret, say) is logged here.
 */
async function refresh(
  deps: PageDeps,
  key: string,
  query: PageQuery,
  now: number,
  stale: CachedPage,
): Promise<void> {
  try {
    const result = await deps.source.fetchPage(key, {
      ...pageRequest(deps, query, now, true),
      seenStoredAt: stale.storedAt,
      fresh: false,
    })
    if (result.ok) await keep(deps, key, result.page, result.leader)
  } catch (err) {
    const detail = err instanceof AppError ? err.detail : undefined
    log('warn', 'background_refresh_failed', {
      requestId: deps.requestId,
      key,
      error: detail ?? (err instanceof Error ? err.message : 'unknown'),
    })
  }
}

/**
 * Counts a request for a page, per partner, and sends this isolate's counts when they are due, or
 * arms the trailing send that delivers them if requests stop (see `DemandCounter`).
 */
function countDemand(deps: PageDeps, query: PageQuery, generation: string, now: number): void {
  const send = (batch: Demand[], at: number) =>
    deps.demandSink.record(batch, at).catch((err: unknown) => {
      log('warn', 'demand_not_recorded', { requestId: deps.requestId, error: String(err) })
    })
  const { flushMs } = deps.settings.prewarm
  const work = deps.demand.count(query, generation, deps.partner ?? '', now, flushMs, send)
  if (work) deps.waitUntil(work)
}

/**
 * Whether this request should refresh a page in the background: not while another request of this
 * isolate does (the page's source would share one upstream call anyway, but each would still make
 * a call to it). A claim older than the upstream budget was lost with its request, and lapses.
 */
function claimRefresh(deps: PageDeps, key: string, now: number): boolean {
  const started = deps.refreshing.get(key)
  if (started !== undefined && now - started < deps.settings.upstream.budgetMs) return false
  deps.refreshing.set(key, now)
  return true
}

/** Keeps a fetched page in this isolate's memory, and in KV if this caller led the fetch. */
async function keep(deps: PageDeps, key: string, page: CachedPage, leader: boolean) {
  deps.memory.set(key, page, deps.settings.memory)
  if (leader) {
    await writePage(deps.kv, key, page, keepSeconds(deps.settings.freshness), deps.requestId)
  }
}

/**
 * The page for a key from the fastest tier that has it fresh: the isolate's memory, else KV (whose
 * page, if newer, then replaces the one in memory: another isolate may have refreshed it).
 */
async function lookup(deps: PageDeps, key: string, now: number): Promise<CachedPage | null> {
  const hot = deps.memory.get(key)
  if (hot && freshness(hot.storedAt, now, deps.settings.freshness) === 'fresh') return hot
  const stored = await readPage(deps.kv, key, deps.requestId)
  if (!stored) return hot ?? null
  if (hot && hot.storedAt >= stored.storedAt) return hot
  return deps.memory.set(key, stored, deps.settings.memory)
}
