import type { RouteHandler } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { readConfig } from '../config'
import { methodNotAllowed } from '../http/errors'
import { createRouter } from '../http/openapi'
import { ifNoneMatchMatches, readDirectives } from '../pages/directives'
import { ageSeconds, type FreshnessPolicy } from '../pages/freshness'
import { cacheStatus } from '../pages/outcome'
import { getPage, type ServedPage } from '../pages/service'
import { type PagesState, pageDeps } from '../prewarm/page-deps'
import type { GroupList } from '../upstream/schemas'
import { type ListGroupsRoute, listGroups as route } from './routes'
import { normalizeQuery } from './schemas'

/** The groups route family: List groups, and 405 for its other methods. */
export function groupsRouter(state: PagesState) {
  return createRouter()
    .openapi(route, listGroups(state))
    .all(route.path, methodNotAllowed(['GET', 'HEAD']))
}

/** `GET /v1/organization/groups`: normalize the query, get the page, render it. */
function listGroups(state: PagesState): RouteHandler<ListGroupsRoute, { Bindings: Env }> {
  return async function listGroupsHandler(c) {
    const config = readConfig(c.env)
    const now = state.now()
    const deps = pageDeps(c.env, state, config, {
      waitUntil: (promise) => c.executionCtx.waitUntil(promise),
      requestId: c.get('requestId'),
      partner: c.get('partner').name,
      report(outcome, upstream) {
        c.set('cache', outcome)
        if (upstream) c.set('upstream', upstream)
      },
    })
    const query = normalizeQuery(c.req.valid('query'))
    const served = await getPage(deps, query, readDirectives(c.req.raw.headers), now)
    // The body is the validated GroupList, as bytes: tell the route's typing so.
    return render(c, served, now, config.freshness) as unknown as ReturnType<
      typeof c.json<GroupList, 200>
    >
  }
}

/**
 * The only place a page response is built: the page's stored bytes as they are (validated before
 * they were stored; re-serializing would cost a parse per hit), or a 304 when the caller has them.
 * `max-age` is the page's whole freshness lifetime and `Age` how much of it is spent, so a client
 * computes what is left as max-age - Age (RFC 9111 4.2.3) and never counts the age twice.
 */
function render(c: Context, { page, outcome }: ServedPage, now: number, policy: FreshnessPolicy) {
  const headers: Record<string, string> = {
    ETag: page.etag,
    'Cache-Status': cacheStatus(outcome, page.prewarmed),
    'Cache-Control': `private, max-age=${policy.ttlSeconds}`,
    Age: String(ageSeconds(page.storedAt, now)),
  }
  if (ifNoneMatchMatches(c.req.header('if-none-match') ?? null, page.etag)) {
    return c.body(null, 304, headers)
  }
  headers['Content-Type'] = 'application/json'
  return c.body(page.body, 200, headers)
}
