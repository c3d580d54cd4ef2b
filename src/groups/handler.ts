import type { RouteHandler } from '@hono/zod-openapi'
import { readConfig } from '../config'
import { readDirectives } from '../pages/directives'
import type { CacheGeneration } from '../pages/generation'
import type { MemoryPages } from '../pages/memory'
import { getPage } from '../pages/service'
import { pageFetcherSource } from '../pages/source'
import type { GroupList } from '../upstream/schemas'
import { renderPage } from './render'
import type { ListGroupsRoute } from './routes'
import { normalizeQuery } from './schemas'

/** What the handler keeps between requests: one per isolate in production. */
export interface PageState {
  memory: MemoryPages
  generation: CacheGeneration
  /** Background refreshes under way, by cache key. */
  refreshing: Map<string, number>
  /** The clock freshness is measured on, in epoch milliseconds: injectable for tests. */
  now: () => number
}

/** `GET /v1/organization/groups`: normalize the query, get the page, render it. */
export function listGroups(state: PageState): RouteHandler<ListGroupsRoute, { Bindings: Env }> {
  return async function listGroupsHandler(c) {
    const config = readConfig(c.env)
    const now = state.now()
    const served = await getPage(
      {
        settings: config,
        kv: c.env.GROUPS_CACHE,
        memory: state.memory,
        generation: state.generation,
        refreshing: state.refreshing,
        source: pageFetcherSource(c.env),
        waitUntil: (promise) => c.executionCtx.waitUntil(promise),
        requestId: c.get('requestId'),
        onUpstreamCall: (trace) => c.set('upstream', trace),
      },
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
