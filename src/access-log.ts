import type { MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'
import { log } from './log'
import type { AppBindings } from './types'

/**
 * One JSON line per request: who (partner name, never a key), what, the outcome, what the cache
 * and the upstream did, and for failures the operator-only detail.
 */
export function accessLog(): MiddlewareHandler<AppBindings> {
  return async function accessLogMiddleware(c, next) {
    const started = Date.now()
    await next()
    const status = c.res.status
    const upstream = c.get('upstream')
    log(status >= 500 ? 'error' : 'info', 'request', {
      requestId: c.get('requestId'),
      partner: c.get('partner')?.name ?? null,
      method: c.req.method,
      route: routePath(c, -1),
      status,
      cache: c.res.headers.get('cache-status'),
      upstreamStatus: upstream?.status ?? null,
      upstreamOutcome: upstream?.outcome ?? null,
      upstreamMs: upstream?.ms ?? null,
      upstreamRequestId: upstream?.requestId ?? null,
      ms: Date.now() - started,
      detail: c.get('errorDetail'),
    })
  }
}
