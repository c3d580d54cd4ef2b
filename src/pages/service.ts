import { AppError } from '../errors'
import { errorText, log } from '../log'
import type { PageQuery } from '../upstream/schemas'
import type { CacheOutcome, FetchPageRequest, FetchPageResult, PageDeps } from './deps'
import type { RequestDirectives } from './directives'
import { decide, type Forward, ttlLeft } from './freshness'
import { type CachedPage, cacheKey } from './page'
import { keep, lookup } from './store'

export type ServedPage = { page: CachedPage; outcome: CacheOutcome }

/** How much longer than one attempt a caller with a fallback waits for a shared fetch. */
const FALLBACK_GRACE_MS = 250
const BOTH_DIRECTIVES =
  'The request asked for both no-cache and only-if-cached: a page fetched from the upstream that may not be fetched. Send one of them.'
const CACHE_UNREADABLE =
  'The gateway cannot read its cache right now, and the request asked for only-if-cached.'

/** A page from the cache or the upstream (see `decide`); what the cache did is always reported. */
export async function getPage(
  deps: PageDeps,
  query: PageQuery,
  directives: RequestDirectives,
  now: number,
): Promise<ServedPage> {
  if (directives.noCache && directives.onlyIfCached) throw notCached(deps, BOTH_DIRECTIVES)
  const generation = await deps.state.generation.current(deps.kv, now)
  // Unknown generation: a page from before a purge could come back, so no cache this time.
  if (generation === null && directives.onlyIfCached) throw notCached(deps, CACHE_UNREADABLE)
  if (generation !== null) deps.countDemand(query, generation, now)
  const key = cacheKey(generation ?? 'unknown', query)
  const cacheable = generation !== null
  const cached = directives.noCache || !cacheable ? null : await lookup(deps, key, now)
  const decision = decide(cached, directives, now, deps.settings.freshness)
  // A page served met any max-age, so a background refresh is never `fresh`.
  const request = (fallback: boolean): FetchPageRequest => ({
    ...fetchRequest(deps, query, now, fallback),
    seenStoredAt: cached?.storedAt ?? null,
    fresh: directives.noCache || directives.maxAgeSeconds !== undefined,
    maxAgeSeconds: directives.maxAgeSeconds,
  })
  switch (decision.action) {
    case 'serve': {
      const { page, stale, revalidate } = decision
      if (revalidate) refreshInBackground(deps, key, request(true))
      const ttl = ttlLeft(page.storedAt, now, deps.settings.freshness)
      return reported(deps, { page, outcome: { kind: stale ? 'stale' : 'hit', ttl } }, null)
    }
    case 'refuse':
      throw notCached(deps, decision.message)
    case 'fetch':
      return fetchAnew(deps, key, request(decision.fallback !== null), decision, cacheable)
  }
}

/** What every fetch carries; with a stale page to fall back on, one attempt: an answer sooner. */
export function fetchRequest(deps: PageDeps, query: PageQuery, now: number, fallback: boolean) {
  const { upstream, freshness: policy } = deps.settings
  const attempts = fallback ? { ...upstream, maxRetries: 0 } : upstream
  return { query, upstream: attempts, requestId: deps.requestId, now, policy }
}

function reported(deps: PageDeps, served: ServedPage, trace: FetchPageResult['trace']) {
  deps.report(served.outcome, trace)
  return served
}

/** Through the page's source: one upstream call however many ask. */
async function fetchAnew(
  deps: PageDeps,
  key: string,
  req: FetchPageRequest,
  { fwd, fallback }: { fwd: Forward; fallback: CachedPage | null },
  cacheable: boolean,
): Promise<ServedPage> {
  const fetching = deps.source.fetchPage(key, req)
  // Whoever answers the caller, the page fetched is kept: in memory, and in KV by the leader.
  const kept = async (r: FetchPageResult) => {
    if (r.ok && cacheable) await keep(deps, key, r.page, r.leader)
  }
  deps.waitUntil(fetching.then(kept, () => {}))
  // With a fallback, wait one attempt at most, even behind another's retrying fetch (kept anyway).
  const result = fallback
    ? await Promise.race([fetching, timedOut(deps.settings.upstream.timeoutMs + FALLBACK_GRACE_MS)])
    : await fetching
  const ttl = (page: CachedPage) => ttlLeft(page.storedAt, req.now, deps.settings.freshness)
  if (result.ok) {
    const how = !result.leader ? 'collapsed' : cacheable ? 'stored' : 'uncached'
    const outcome = { kind: 'fetched', fwd, ttl: ttl(result.page), how } as const
    return reported(deps, { page: result.page, outcome }, result.trace)
  }
  const fwdStatus = result.trace?.status ?? result.shared?.upstreamStatus ?? null
  // Only the upstream's own failures are covered: a refusal of the query (400, 404, 422) stands.
  if (fallback && (result.error.status >= 500 || result.error.status === 429)) {
    const outcome = { kind: 'stale-if-error', fwd, fwdStatus, ttl: ttl(fallback) } as const
    return reported(deps, { page: fallback, outcome }, result.trace)
  }
  const outcome: CacheOutcome = { kind: 'failed', fwd, fwdStatus, shared: !!result.shared }
  deps.report(outcome, result.trace)
  throw AppError.from(result.error).with({ headers: { 'Cache-Status': cacheStatus(outcome) } })
}

/**
 * One refresh per page at a time in this isolate (each would call the source); a claim older than
 * the upstream budget was lost with its request. Nobody waits for it, so its failure is logged.
 */
function refreshInBackground(deps: PageDeps, key: string, req: FetchPageRequest): void {
  const { refreshing } = deps.state
  const started = refreshing.get(key)
  if (started !== undefined && req.now - started < deps.settings.upstream.budgetMs) return
  refreshing.set(key, req.now)
  const refresh = async () => {
    try {
      const result = await deps.source.fetchPage(key, req)
      if (result.ok) await keep(deps, key, result.page, result.leader)
    } catch (err) {
      const error = err instanceof AppError ? (err.detail ?? err.message) : errorText(err)
      log('warn', 'background_refresh_failed', { requestId: deps.requestId, key, error })
    } finally {
      if (refreshing.get(key) === req.now) refreshing.delete(key)
    }
  }
  deps.waitUntil(refresh())
}

/** The 504 for an only-if-cached request the cache cannot answer: the client's own choice. */
function notCached(deps: PageDeps, message?: string): AppError {
  const outcome: CacheOutcome = { kind: 'not-cached' }
  deps.report(outcome, null)
  return new AppError('not_cached', { message, headers: { 'Cache-Status': cacheStatus(outcome) } })
}

function timedOut(ms: number): Promise<FetchPageResult> {
  const detail = `no answer within ${ms} ms; serving the stale page`
  const error = new AppError('upstream_error', { detail }).toJSON()
  return new Promise((resolve) => setTimeout(() => resolve({ ok: false, error, trace: null }), ms))
}

/** The `Cache-Status` field (RFC 9211); `prewarmed` when the cron fetched the page. */
export function cacheStatus(o: CacheOutcome, prewarmed = false): string {
  const parts = ['groups-gateway']
  if (o.kind === 'hit' || o.kind === 'stale') parts.push('hit', `ttl=${o.ttl}`)
  if (o.kind === 'stale') parts.push('detail=stale-while-revalidate')
  if ('fwd' in o) parts.push(`fwd=${o.fwd}`)
  if (o.kind === 'fetched') {
    const how = o.how === 'uncached' ? 'detail=cache-unavailable' : o.how
    parts.push('fwd-status=200', how, `ttl=${o.ttl}`)
  }
  if ('fwdStatus' in o && o.fwdStatus) parts.push(`fwd-status=${o.fwdStatus}`)
  if (o.kind === 'stale-if-error') parts.push(`ttl=${o.ttl}`, 'detail=stale-if-error')
  if (o.kind === 'failed' && o.shared) parts.push('collapsed', 'detail=failure-shared')
  if (o.kind === 'not-cached') parts.push('detail=only-if-cached')
  if (prewarmed) parts.push('prewarmed')
  return parts.join('; ')
}
