import type { Context } from 'hono'
import { ifNoneMatchMatches } from '../pages/directives'
import type { FreshnessPolicy } from '../pages/freshness'
import { pageHeaders } from '../pages/headers'
import type { ServedPage } from '../pages/service'

/**
 * The only place a page response is built. It serves a page's stored bytes as they are (they were
 * validated before they were stored, and re-serializing would cost a parse per hit), or a 304 when
 * the caller already has them. Headers every response carries (request id, rate limit, security)
 * are the middleware's.
 */
export function renderPage(c: Context, served: ServedPage, now: number, policy: FreshnessPolicy) {
  const { page } = served
  const headers = pageHeaders(page, now, policy, served.cacheStatus)
  if (ifNoneMatchMatches(c.req.header('if-none-match') ?? null, page.etag)) {
    return c.body(null, 304, headers)
  }
  headers['Content-Type'] = 'application/json'
  return c.body(page.body, 200, headers)
}
