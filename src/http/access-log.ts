import type { MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'
import { type LogLevel, log } from '../log'
import type { UpstreamTrace } from '../upstream/client'

declare module 'hono' {
  interface ContextVariableMap {
    /** What the upstream call made for this request did, if one was made. */
    upstream: UpstreamTrace
  }
}

export interface RequestLogEntry {
  requestId: string
  partner: string | null
  method: string
  route: string
  status: number
  cache: string | null
  upstream?: UpstreamTrace
  ms: number
  detail?: string
  /** When the status alone does not say it. */
  level?: LogLevel
}

/**
 * The one JSON line per request: who (partner name, never a key), what, the outcome, what the
 * cache and the upstream did, and for failures the operator-only detail. Its level: what the
 * request's error said, else `error` for a 5xx, `warn` for a page served in place of a failing
 * upstream (stale-if-error), `info` for the rest.
 */
export function logRequest(entry: RequestLogEntry): void {
  const { upstream } = entry
  const level =
    entry.level ??
    (entry.status >= 500
      ? 'error'
      : entry.cache?.includes('detail=stale-if-error')
        ? 'warn'
        : 'info')
  log(level, 'request', {
    requestId: entry.requestId,
    partner: entry.partner,
    method: entry.method,
    route: entry.route,
    status: entry.status,
    cache: entry.cache,
    upstreamStatus: upstream?.status ?? null,
    upstreamOutcome: upstream?.outcome ?? null,
    upstreamMs: upstream?.ms ?? null,
    upstreamRequestId: upstream?.requestId ?? null,
    ms: entry.ms,
    detail: entry.detail,
  })
}

/** Writes the request's log line once the response is complete. */
export function accessLog(): MiddlewareHandler {
  return async function accessLogMiddleware(c, next) {
    const started = Date.now()
    await next()
    logRequest({
      requestId: c.get('requestId'),
      partner: c.get('partner')?.name ?? null,
      method: c.req.method,
      route: routePath(c, -1),
      status: c.res.status,
      cache: c.res.headers.get('cache-status'),
      upstream: c.get('upstream'),
      ms: Date.now() - started,
      detail: c.get('errorDetail'),
      level: c.get('logLevel'),
    })
  }
}
