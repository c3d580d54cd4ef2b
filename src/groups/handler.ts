import type { RouteHandler } from '@hono/zod-openapi'
import { readConfig } from '../config'
import { type PageState, pageDeps } from '../pages/deps'
import { readDirectives } from '../pages/directives'
import { getPage } from '../pages/service'
import type { GroupList } from '../upstream/schemas'
import { renderPage } from './render'
import type { ListGroupsRoute } from './routes'
import { normalizeQuery } from './schemas'

/** `GET /v1/organization/groups`: normalize the query, get the page, render it. */
export function listGroups(state: PageState): RouteHandler<ListGroupsRoute, { Bindings: Env }> {
  return async function listGroupsHandler(c) {
    const config = readConfig(c.env)
    const now = state.now()
    const served = await getPage(
      pageDeps(c.env, state, config, {
        waitUntil: (promise) => c.executionCtx.waitUntil(promise),
        requestId: c.get('requestId'),
        onUpstreamCall: (trace) => c.set('upstream', trace),
        partner: c.get('partner').name,
      }),
      normalizeQuery(c.req.valid('query')),
      readDirectives(c.req.raw.headers),
      now,
    )
    // The body is the validated GroupList, as bytes: tell the route's typing so.
    return renderPage(c, served, now, config.freshness) as unknown as ReturnType<
      typeof c.json<GroupList, 200>
    >
  }
}
