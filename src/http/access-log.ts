import type { MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'
import { type LogLevel, log, setLogVersion } from '../log'
import type { UpstreamTrace } from '../upstream/client'

declare module 'hono' {
  interface ContextVariableMap {
    /** What the upstream call made for this request did, if one was made. */
    upstream: UpstreamTrace
  }
}

export interface RequestLogEntry {
  requestId: string
  /** The client's own `X-Request-Id`, when it sent a usable one (absent from the line otherwise). */
  clientRequestId?: string
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
    clientRequestId: entry.clientRequestId,
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

/** What a request's outcome was for the cache, in one word, for the usage figures. */
export function cacheOutcome(cacheStatus: string | null): string {
  if (cacheStatus === null) return 'none'
  if (cacheStatus.includes('detail=stale-if-error')) return 'stale-if-error'
  if (cacheStatus.includes('detail=stale-while-revalidate')) return 'stale'
  if (cacheStatus.includes('; hit')) return 'hit'
  if (cacheStatus.includes('collapsed')) return 'collapsed'
  if (cacheStatus.includes('fwd=request')) return 'refresh'
  if (cacheStatus.includes('fwd=')) return 'miss'
  return 'none'
}

/**
 * The request's Analytics Engine data point, indexed by partner (`-` when none was authenticated).
 * Its layout is what `npm run usage` queries: blob1 route, blob2 method, blob3 cache outcome,
 * blob4 upstream status, blob5 version; double1 status, double2 upstream ms, double3 total ms,
 * double4 upstream calls.
 */
export function requestDataPoint(
  entry: RequestLogEntry,
  version: string,
): AnalyticsEngineDataPoint {
  const { upstream } = entry
  return {
    indexes: [entry.partner ?? '-'],
    blobs: [
      entry.route,
      entry.method,
      cacheOutcome(entry.cache),
      upstream?.status ? String(upstream.status) : '',
      version,
    ],
    doubles: [entry.status, upstream?.ms ?? 0, entry.ms, upstream?.attempts ?? 0],
  }
}

/**
 * Writes the request's telemetry once the response is complete: one log line (the only billed
 * log event: the invocation log is off in wrangler.toml) and one Analytics Engine data point,
 * never awaited, both carrying the deployed version.
 */
export function accessLog(): MiddlewareHandler<{ Bindings: Env }> {
  let versionSet = false
  return async function accessLogMiddleware(c, next) {
    const started = Date.now()
    const version = c.env.VERSION?.id ?? ''
    if (!versionSet) {
      setLogVersion(version || null)
      versionSet = true
    }
    await next()
    const entry: RequestLogEntry = {
      requestId: c.get('requestId'),
      clientRequestId: c.get('clientRequestId'),
      partner: c.get('partner')?.name ?? null,
      method: c.req.method,
      route: routePath(c, -1),
      status: c.res.status,
      cache: c.res.headers.get('cache-status'),
      upstream: c.get('upstream'),
      ms: Date.now() - started,
      detail: c.get('errorDetail'),
      level: c.get('logLevel'),
    }
    logRequest(entry)
    try {
      c.env.USAGE?.writeDataPoint(requestDataPoint(entry, version))
    } catch (err) {
      log('warn', 'usage_write_failed', { requestId: entry.requestId, error: String(err) })
    }
  }
}
