import { logRequest } from './access-log'
import { pageHeaders, ttlLeft } from './cache/page-headers'
import { cacheKey } from './cache/pages'
import { readConfig } from './config'
import { bearerKey } from './partners/auth'
import { rateLimitHeaders } from './partners/rate-limit'
import { requestIdFrom } from './request-id'
import type { AppState } from './types'

const GROUPS_PATH = '/v1/organization/groups'
/** Page headers that vary per request or per page; the rest come from the learned template. */
export const DYNAMIC_PAGE_HEADERS = new Set([
  'x-request-id',
  'etag',
  'cache-status',
  'cache-control',
  'age',
  'ratelimit',
  'ratelimit-policy',
  'content-length',
])

/**
 * A URL's path and raw query string (with its `?`), without parsing it: the hot path and the
 * handler that teaches it must cut the query string the same way.
 */
export function splitUrl(url: string): { path: string; search: string } {
  const pathStart = url.indexOf('/', url.indexOf('://') + 3)
  const q = url.indexOf('?', pathStart)
  return q === -1
    ? { path: url.slice(pathStart), search: '' }
    : { path: url.slice(pathStart, q), search: url.slice(q) }
}

/**
 * Serves a fresh page this isolate already holds, for a query it already validated, to a partner
 * it already knows, within a rate-limit lease it already has: everything the full pipeline would
 * do, decided from memory, without the router, validation or middleware chain. Anything else
 * (a first sight of a query or key, a stale page, a lease to renew, a conditional or CORS request)
 * returns null and takes the full pipeline, which is also where this path learns what it knows.
 * The response carries the same headers and the same log line as the full pipeline's.
 */
export function serveHotHit(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  state: AppState,
  now: () => number,
): Response | null {
  const template = state.pageHeaderTemplate
  if (request.method !== 'GET' || template === null) return null
  const { path, search } = splitUrl(request.url)
  if (path !== GROUPS_PATH) return null
  const query = state.hotQueries.get(search)
  if (!query) return null
  const headers = request.headers
  if (
    headers.has('origin') ||
    headers.has('if-none-match') ||
    headers.has('cache-control') ||
    headers.has('pragma')
  ) {
    return null
  }
  const t = now()
  const partner = state.partners.peek(bearerKey(headers.get('authorization')), t)
  if (!partner) return null
  let ttlSeconds: number
  try {
    ttlSeconds = readConfig(env).cacheTtlSeconds
  } catch {
    return null
  }
  const generation = state.generation.peek(t)
  if (generation === undefined) return null
  const page = state.pages.get(cacheKey(generation, query))
  if (!page || t - page.storedAt >= ttlSeconds * 1000) return null
  // Last: a lease taken is a request counted, so nothing may fall through after it.
  const decision = state.rateLimits.tryLocal(partner, Date.now())
  if (!decision?.allowed) return null

  const requestId = requestIdFrom(headers.get('x-request-id'))
  const binding = env[partner.tier.binding]
  const renewal = state.rateLimits.renewSoon(partner, binding, Date.now(), requestId)
  if (renewal) ctx.waitUntil(renewal)
  const cacheStatus = `hit; ttl=${ttlLeft(page, t, ttlSeconds)}`
  const response = new Response(page.body, {
    status: 200,
    headers: [
      ...template,
      ['X-Request-Id', requestId],
      ...Object.entries(pageHeaders(page, t, ttlSeconds, cacheStatus)),
      ...rateLimitHeaders(partner.tier, decision),
    ],
  })
  logRequest({
    requestId,
    partner: partner.name,
    method: 'GET',
    route: GROUPS_PATH,
    status: 200,
    cache: `groups-gateway; ${cacheStatus}`,
    ms: 0,
  })
  return response
}
