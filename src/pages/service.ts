import { AppError } from '../errors'
import type { PageQuery } from '../upstream/query'
import { fetchRequest, type PageDeps } from './deps'
import type { RequestDirectives } from './directives'
import { decide, ttlLeft } from './freshness'
import { type CacheOutcome, cacheStatus, type Forward } from './outcome'
import { type CachedPage, cacheKey } from './page'
import { refreshInBackground } from './refresh'
import type { FetchPageResult } from './source'
import { keep, lookup } from './store'

export type { PageSettings } from './deps'

/** A page to serve, and what the cache did to get it. */
export interface ServedPage {
  page: CachedPage
  outcome: CacheOutcome
}

/** How much longer than one attempt a caller with a fallback waits for a shared fetch. */
const FALLBACK_GRACE_MS = 250

/**
 * A page for a query, from the cache when it can, from the upstream when it must (see `decide`).
 * Throws an `AppError` for what the caller should see instead; reports what the cache did either way.
 */
export async function getPage(
  deps: PageDeps,
  query: PageQuery,
  directives: RequestDirectives,
  now: number,
): Promise<ServedPage> {
  if (directives.noCache && directives.onlyIfCached) {
    throw notCached(
      deps,
      'The request asked for both no-cache and only-if-cached: a page fetched from the upstream that may not be fetched. Send one of them.',
    )
  }
  const generation = await deps.state.generation.current(deps.kv, now)
  // Unknown generation: a page from before a purge could come back, so no cache this time.
  if (generation === null && directives.onlyIfCached) {
    throw notCached(
      deps,
      'The gateway cannot read its cache right now, and the request asked for only-if-cached.',
    )
  }
  const key = cacheKey(generation ?? 'unknown', query)
  if (generation !== null) deps.countDemand(query, generation, now)
  const cached = directives.noCache || generation === null ? null : await lookup(deps, key, now)
  const decision = decide(cached, directives, now, deps.settings.freshness)
  switch (decision.action) {
    case 'serve': {
      const { page, stale, revalidate } = decision
      if (revalidate) refreshInBackground(deps, key, query, now, page)
      const ttl = ttlLeft(page.storedAt, now, deps.settings.freshness)
      return served(deps, page, { kind: stale ? 'stale' : 'hit', ttl })
    }
    case 'refuse':
      throw notCached(deps, decision.message)
    case 'fetch':
      return fetchAnew(deps, key, query, directives, now, {
        ...decision,
        cacheable: generation !== null,
        seenStoredAt: cached?.storedAt ?? null,
      })
  }
}

function served(
  deps: PageDeps,
  page: CachedPage,
  outcome: CacheOutcome,
  result?: FetchPageResult,
): ServedPage {
  deps.report(outcome, result?.trace ?? null)
  return { page, outcome }
}

interface Fetch {
  fwd: Forward
  fallback: CachedPage | null
  cacheable: boolean
  seenStoredAt: number | null
}

/** Fetches through the page's source (one upstream call however many ask). */
async function fetchAnew(
  deps: PageDeps,
  key: string,
  query: PageQuery,
  directives: RequestDirectives,
  now: number,
  { fwd, fallback, cacheable, seenStoredAt }: Fetch,
): Promise<ServedPage> {
  const { maxAgeSeconds } = directives
  const fetching = deps.source.fetchPage(key, {
    ...fetchRequest(deps, query, now, fallback !== null),
    seenStoredAt,
    fresh: directives.noCache || maxAgeSeconds !== undefined,
    ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}),
  })
  // Whoever answers the caller, the page fetched is kept: in memory, and in KV by the leader.
  const kept = async (r: FetchPageResult) => {
    if (r.ok && cacheable) await keep(deps, key, r.page, r.leader)
  }
  deps.waitUntil(fetching.then(kept, () => {}))
  // With a page to fall back on, wait no longer than one attempt, even behind another caller's
  // retrying fetch: that fetch goes on, and its page is still kept, without us.
  const result = fallback
    ? await Promise.race([fetching, timedOut(deps.settings.upstream.timeoutMs + FALLBACK_GRACE_MS)])
    : await fetching
  const policy = deps.settings.freshness
  if (result.ok) {
    const how = !result.leader ? 'collapsed' : cacheable ? 'stored' : 'uncached'
    const ttl = ttlLeft(result.page.storedAt, now, policy)
    return served(deps, result.page, { kind: 'fetched', fwd, ttl, how }, result)
  }
  const fwdStatus = result.trace?.status ?? result.shared?.upstreamStatus ?? null
  // Only the upstream's own failures are covered: a refusal of the query (400, 404, 422) stands.
  if (fallback && (result.error.status >= 500 || result.error.status === 429)) {
    const ttl = ttlLeft(fallback.storedAt, now, policy)
    return served(deps, fallback, { kind: 'stale-if-error', fwd, fwdStatus, ttl }, result)
  }
  const outcome: CacheOutcome = { kind: 'failed', fwd, fwdStatus, shared: !!result.shared }
  deps.report(outcome, result.trace)
  const headers = { 'Cache-Status': cacheStatus(outcome) }
  throw AppError.from(result.error).with({ headers })
}

/** The 504 for an only-if-cached request the cache cannot answer: the client's own choice. */
function notCached(deps: PageDeps, message: string): AppError {
  const outcome: CacheOutcome = { kind: 'not-cached' }
  deps.report(outcome, null)
  return new AppError('not_cached', { message, headers: { 'Cache-Status': cacheStatus(outcome) } })
}

function timedOut(ms: number): Promise<FetchPageResult> {
  const detail = `no answer within ${ms} ms; serving the stale page`
  const error = new AppError('upstream_error', { detail }).toJSON()
  return new Promise((resolve) => setTimeout(() => resolve({ ok: false, error, trace: null }), ms))
}
