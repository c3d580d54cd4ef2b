import type { Context } from 'hono'
import { ifNoneMatchMatches, readDirectives } from '../cache/directives'
import type { HotPage } from '../cache/memory'
import type { FetchPageRequest, FetchPageResult } from '../cache/page-fetcher'
import { CACHE_NAME, pageHeaders, ttlLeft as ttlLeftSeconds } from '../cache/page-headers'
import { type CachedPage, cacheKey, readPage, writePage } from '../cache/pages'
import { type Config, readAdminKey, readConfig } from '../config'
import { AppError } from '../errors'
import { splitUrl } from '../hot-path'
import type { AppBindings, AppRouteHandler } from '../types'
import type { ListGroupsRoute } from './routes'
import { type GroupList, type NormalizedQuery, normalizeQuery } from './schemas'

type Ctx = Context<AppBindings>

/**
 * Serves a page from the cache when it can, from the upstream when it must:
 * fresh -> served; within stale-while-revalidate -> served at once and refreshed in the background;
 * otherwise fetched through the page's Durable Object (one upstream call however many ask), with a
 * page within stale-if-error standing in if the upstream fails.
 */
export const listGroups: AppRouteHandler<ListGroupsRoute> = async function listGroups(c) {
  const config = readConfig(c.env)
  const query = normalizeQuery(c.req.valid('query'))
  rememberQuery(c, query)
  const now = c.get('now')()
  const directives = readDirectives(c.req.raw.headers)
  const generation = await c.get('state').generation.current(c.env.GROUPS_CACHE, now)
  // Unknown generation: a page from before a purge could come back, so no cache this time.
  const cacheable = generation !== null
  const key = cacheKey(generation ?? 'unknown', query)
  const ttlMs = config.cacheTtlSeconds * 1000

  const cached = directives.noCache || !cacheable ? null : await lookup(c, key, now, ttlMs, config)
  const age = cached ? now - cached.storedAt : Number.POSITIVE_INFINITY
  if (cached && age < ttlMs) {
    return pageResponse(c, cached, now, config, `hit; ttl=${ttlLeft(cached, now, config)}`)
  }
  if (cached && age < ttlMs + config.staleWhileRevalidateSeconds * 1000) {
    c.executionCtx.waitUntil(refresh(c, key, query, config, now, cached))
    return pageResponse(
      c,
      cached,
      now,
      config,
      `hit; ttl=${ttlLeft(cached, now, config)}; detail=stale-while-revalidate`,
    )
  }
  if (directives.onlyIfCached) {
    throw new AppError(504, {
      message:
        'This page is not in the gateway\u2019s cache, and the request asked for only-if-cached.',
      type: 'invalid_request_error',
      code: 'not_cached',
      headers: { 'Cache-Status': `${CACHE_NAME}; detail=only-if-cached` },
      shouldRetry: false,
    })
  }

  // Operator errors surface here, before any upstream call, whatever the Durable Object holds.
  readAdminKey(c.env)
  const fwd = directives.noCache ? 'request' : cached ? 'stale' : 'uri-miss'
  const fallback = cached && age < ttlMs + config.staleIfErrorSeconds * 1000 ? cached : null
  const fetching = fetchThroughObject(c, key, {
    ...pageRequest(c, query, config, now, fallback !== null),
    seenStoredAt: cached?.storedAt ?? null,
    fresh: directives.noCache,
  })
  // Whoever answers the caller, the page fetched is kept: in memory, and in KV by the leader.
  c.executionCtx.waitUntil(
    fetching.then((r) => (r.ok && cacheable ? keep(c, key, r.page, r.leader, config) : undefined)),
  )
  // With a page to fall back on, wait no longer than one attempt, even behind another caller's
  // retrying fetch: that fetch goes on, and its page is still kept, without us.
  const result = fallback
    ? await Promise.race([fetching, timedOut(config.upstreamTimeoutMs + FALLBACK_GRACE_MS)])
    : await fetching
  if (result.trace) c.set('upstream', result.trace)

  if (result.ok) {
    const how = !result.leader ? 'collapsed' : cacheable ? 'stored' : 'detail=cache-unavailable'
    const status = `fwd=${fwd}; fwd-status=200; ${how}; ttl=${ttlLeft(result.page, now, config)}`
    return pageResponse(c, result.page, now, config, status)
  }
  const upstreamStatus = result.trace?.status
  const fwdStatus = upstreamStatus ? `; fwd-status=${upstreamStatus}` : ''
  // Only the upstream's own failures are covered: a refusal of the query (400, 404, 422) stands.
  if (fallback && (result.error.status >= 500 || result.error.status === 429)) {
    const status = `fwd=${fwd}${fwdStatus}; ttl=${ttlLeft(fallback, now, config)}; detail=stale-if-error`
    return pageResponse(c, fallback, now, config, status)
  }
  const { error } = result
  throw new AppError(error.status as 502, {
    ...error.body.error,
    headers: { ...error.headers, 'Cache-Status': `${CACHE_NAME}; fwd=${fwd}${fwdStatus}` },
    detail: error.detail,
  })
}

/** What every request to the page's object carries, but for what the caller already has. */
function pageRequest(
  c: Ctx,
  query: NormalizedQuery,
  config: Config,
  now: number,
  hasFallback: boolean,
): Omit<FetchPageRequest, 'seenStoredAt' | 'fresh'> {
  return {
    query,
    upstream: {
      baseUrl: config.upstreamBaseUrl,
      timeoutMs: config.upstreamTimeoutMs,
      // With a stale page to fall back on, one attempt: the caller gets an answer sooner.
      maxRetries: hasFallback ? 0 : config.upstreamMaxRetries,
      budgetMs: config.upstreamBudgetMs,
      retryBaseMs: config.upstreamRetryBaseMs,
    },
    requestId: c.get('requestId'),
    now,
    ttlMs: config.cacheTtlSeconds * 1000,
  }
}

async function fetchThroughObject(
  c: Ctx,
  key: string,
  req: FetchPageRequest,
): Promise<FetchPageResult> {
  try {
    const stub = c.env.PAGE_FETCHER.get(c.env.PAGE_FETCHER.idFromName(key))
    return (await stub.fetchPage(req)) as FetchPageResult
  } catch (err) {
    // The object could not be reached (an overload or a deploy, say): as good as an upstream fault.
    const detail = `page fetcher unreachable: ${err instanceof Error ? err.message : 'unknown'}`
    return {
      ok: false,
      error: AppError.upstreamFailed(detail).toJSON(),
      trace: null,
    }
  }
}

/** How much longer than one attempt a caller with a fallback waits for a shared fetch. */
const FALLBACK_GRACE_MS = 250

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

/** The background half of stale-while-revalidate; the Durable Object keeps it to one at a time. */
async function refresh(
  c: Ctx,
  key: string,
  query: NormalizedQuery,
  config: Config,
  now: number,
  stale: CachedPage,
): Promise<void> {
  const result = await fetchThroughObject(c, key, {
    ...pageRequest(c, query, config, now, true),
    seenStoredAt: stale.storedAt,
    fresh: false,
  })
  if (result.ok) await keep(c, key, result.page, result.leader, config)
}

/** Keeps a fetched page in this isolate's memory, and in KV if this caller led the fetch. */
async function keep(c: Ctx, key: string, page: CachedPage, leader: boolean, config: Config) {
  c.get('state').pages.set(key, page, config.memory)
  if (leader) await store(c, key, page, config)
}

/**
 * The page for a key from the fastest tier that has it fresh: the isolate's memory, else KV (whose
 * page, if newer, then replaces the one in memory: another isolate may have refreshed it).
 */
async function lookup(
  c: Ctx,
  key: string,
  now: number,
  ttlMs: number,
  config: Config,
): Promise<CachedPage | null> {
  const pages = c.get('state').pages
  const hot = pages.get(key)
  if (hot && now - hot.storedAt < ttlMs) return hot
  const stored = await readPage(c.env.GROUPS_CACHE, key, c.get('requestId'))
  if (!stored) return hot ?? null
  if (hot && hot.storedAt >= stored.storedAt) return hot
  return pages.set(key, stored, config.memory)
}

/** Keeps a page in KV for as long as any window may still serve it. */
function store(c: Ctx, key: string, page: CachedPage, config: Config): Promise<void> {
  const seconds =
    config.cacheTtlSeconds +
    Math.max(config.staleWhileRevalidateSeconds, config.staleIfErrorSeconds)
  return writePage(c.env.GROUPS_CACHE, key, page, seconds, c.get('requestId'))
}

function ttlLeft(page: CachedPage, now: number, config: Config): number {
  return ttlLeftSeconds(page, now, config.cacheTtlSeconds)
}

/**
 * Serves a page's stored bytes as they are (they were validated before they were stored, and
 * re-serializing would cost a parse per hit), or a 304 when the caller already has them.
 */
function pageResponse(c: Ctx, page: CachedPage, now: number, config: Config, cacheStatus: string) {
  const headers = pageHeaders(page, now, config.cacheTtlSeconds, cacheStatus)
  const body = 'body' in page ? (page as HotPage).body : page.text
  const res = ifNoneMatchMatches(c.req.header('if-none-match') ?? null, page.etag)
    ? c.body(null, 304, headers)
    : c.body(body, 200, { 'Content-Type': 'application/json', ...headers })
  // The body is the validated GroupList, as text: tell the route's typing so.
  return res as unknown as ReturnType<typeof c.json<GroupList, 200>>
}

const MAX_HOT_QUERIES = 10_000
/** The longest valid query is about 170 characters; anything longer carries padding. */
const MAX_HOT_QUERY_LENGTH = 256

/**
 * Lets the hot path recognize this raw query string as valid, and what it normalizes to. Bounded
 * in count and length, so unknown parameters cannot be used to fill the isolate's memory.
 */
function rememberQuery(c: Ctx, query: NormalizedQuery): void {
  const { search } = splitUrl(c.req.url)
  const known = c.get('state').hotQueries
  if (search.length > MAX_HOT_QUERY_LENGTH || known.has(search)) return
  if (known.size >= MAX_HOT_QUERIES) known.clear()
  known.set(search, query)
}
