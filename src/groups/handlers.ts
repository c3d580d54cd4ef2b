import type { Context } from 'hono'
import { ageSeconds, type CachedPage, cacheKey, readPage, writePage } from '../cache/pages'
import { readAdminKey, readConfig } from '../config'
import type { AppBindings, AppRouteHandler } from '../types'
import { fetchGroupsPage } from '../upstream/client'
import type { ListGroupsRoute } from './routes'
import { type GroupList, normalizeQuery } from './schemas'

/** The cache's name in `Cache-Status` (RFC 9211). */
export const CACHE_NAME = 'groups-gateway'

export const listGroups: AppRouteHandler<ListGroupsRoute> = async function listGroups(c) {
  const config = readConfig(c.env)
  const query = normalizeQuery(c.req.valid('query'))
  const requestId = c.get('requestId')
  const now = c.get('now')
  const key = cacheKey(query)

  const cached = await readPage(c.env.GROUPS_CACHE, key, requestId)
  if (cached && now() - cached.storedAt < config.cacheTtlSeconds * 1000) {
    return pageResponse(c, cached, now(), config.cacheTtlSeconds, 'hit')
  }

  const trace = {}
  c.set('upstream', trace)
  const { text } = await fetchGroupsPage({
    baseUrl: config.upstreamBaseUrl,
    adminKey: readAdminKey(c.env),
    timeoutMs: config.upstreamTimeoutMs,
    query,
    requestId,
    trace,
  })
  const fresh: CachedPage = { text, storedAt: now() }
  c.executionCtx.waitUntil(
    writePage(c.env.GROUPS_CACHE, key, fresh, config.cacheTtlSeconds, requestId),
  )
  const fwd = cached ? 'fwd=stale' : 'fwd=uri-miss'
  return pageResponse(c, fresh, fresh.storedAt, config.cacheTtlSeconds, `${fwd}; stored`)
}

/**
 * Serves a page's stored bytes as they are: they were validated before they were stored, and
 * re-serializing would cost a parse per hit.
 */
function pageResponse(
  c: Context<AppBindings>,
  page: CachedPage,
  now: number,
  ttlSeconds: number,
  cacheStatus: string,
) {
  const age = ageSeconds(page, now)
  const res = c.body(page.text, 200, {
    'Content-Type': 'application/json',
    'Cache-Status': `${CACHE_NAME}; ${cacheStatus}`,
    'Cache-Control': `private, max-age=${Math.max(0, ttlSeconds - age)}`,
    Age: String(age),
  })
  // The body is the validated GroupList, as text: tell the route's typing so.
  return res as unknown as ReturnType<typeof c.json<GroupList, 200>>
}
