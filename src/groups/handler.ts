import type { RouteHandler } from '@hono/zod-openapi'
import { methodNotAllowed } from '../http/errors'
import { type App, openapiWithQuery } from '../http/openapi'
import { apiHeaders, apiResponse } from '../http/security-headers'
import { ifNoneMatchMatches, readDirectives } from '../pages/directives'
import { ageSeconds } from '../pages/freshness'
import { cacheStatus, getPage } from '../pages/service'
import { type PagesState, pageDeps } from '../prewarm/page-deps'
import type { GroupList } from '../upstream/schemas'
import { listGroups as route } from './routes'

export function groupsRoutes(app: App, state: PagesState) {
  openapiWithQuery(app, route, listGroups(state)).all(route.path, methodNotAllowed(['GET', 'HEAD']))
}

/**
 * `GET /v1/organization/groups`, the only place a page response is built: the stored bytes as they
 * are (validated before they were stored; re-serializing costs a parse per hit), or a 304. `Age` is
 * how much of `max-age` (the whole lifetime) is spent: what is left is max-age - Age (RFC 9111).
 */
function listGroups(state: PagesState): RouteHandler<typeof route, { Bindings: Env }> {
  // The headers every page answer carries, built once per TTL (the vars set `Cache-Control`).
  let fixed: { ttl: number; ok: Headers; notModified: Headers } | undefined
  return async function listGroupsHandler(c) {
    const now = state.now()
    const deps = pageDeps(c.env, state, {
      waitUntil: (promise) => c.executionCtx.waitUntil(promise),
      requestId: c.get('requestId'),
      partner: c.get('partner').name,
      report(outcome, upstream) {
        c.set('cache', outcome)
        if (upstream) c.set('upstream', upstream)
      },
    })
    const { after = null, limit, order } = c.req.valid('query')
    const directives = readDirectives(c.req.raw.headers)
    const { page, outcome } = await getPage(deps, { after, limit, order }, directives, now)
    const ttl = deps.settings.freshness.ttlSeconds
    if (fixed?.ttl !== ttl) {
      const control: [string, string] = ['Cache-Control', `private, max-age=${ttl}`]
      fixed = {
        ttl,
        ok: apiHeaders([['Content-Type', 'application/json'], control]),
        notModified: apiHeaders([control]),
      }
    }
    const varying = {
      ETag: page.etag,
      'Cache-Status': cacheStatus(outcome, page.prewarmed),
      Age: String(ageSeconds(page.storedAt, now)),
    }
    if (ifNoneMatchMatches(c.req.header('if-none-match') ?? null, page.etag)) {
      return apiResponse(null, 304, fixed.notModified, varying) as never
    }
    // The body is the validated GroupList, as bytes: tell the route's typing so.
    const response = apiResponse(page.body, 200, fixed.ok, varying)
    return response as unknown as ReturnType<typeof c.json<GroupList, 200>>
  }
}
