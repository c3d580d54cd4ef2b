import type { MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'
import { type LogLevel, log, setLogVersion } from '../log'
import type { CacheOutcome } from '../pages/deps'
import type { UpstreamTrace } from '../upstream/client'

declare module 'hono' {
  interface ContextVariableMap {
    /** The gateway's own id for this request: in its log line, its answer and the upstream call. */
    requestId: string
    /** What the page cache did for this request, if it was asked. */
    cache: CacheOutcome
    /** What the upstream calls made for this request did, if any were made. */
    upstream: UpstreamTrace
    /** What went wrong, for operators only: logged, never sent. */
    errorDetail: string
    /** The log line's level, when the status alone does not say it. */
    logLevel: LogLevel
  }
}

/** What a client's own id may look like to be kept: short, and nothing a log could misread. */
const CLIENT_REQUEST_ID = /^[\w.:=-]{1,128}$/

/** A request's cache outcome in one word, for the data point's blob3 (what `npm run usage` reads). */
function outcomeWord(o: CacheOutcome | undefined): string {
  if (!o || o.kind === 'not-cached') return 'none'
  if (o.kind === 'hit' || o.kind === 'stale' || o.kind === 'stale-if-error') return o.kind
  if ((o.kind === 'fetched' && o.how === 'collapsed') || (o.kind === 'failed' && o.shared)) {
    return 'collapsed'
  }
  return 'fwd' in o && o.fwd === 'request' ? 'refresh' : 'miss'
}

/**
 * Names each request with an id of the gateway's own (`X-Request-Id`): a client's never replaces
 * it, so no one can choose the id another's requests are logged under (a usable one is kept as
 * `X-Client-Request-Id`). Then, once the response is complete, one JSON log line (the only billed
 * log event: wrangler.toml turns the invocation log off), partner by name, never by key, and one
 * Analytics Engine data point, never awaited; both carry the deployed version.
 */
export function telemetry(): MiddlewareHandler<{ Bindings: Env }> {
  return async function telemetryMiddleware(c, next) {
    const requestId = crypto.randomUUID()
    c.set('requestId', requestId)
    const clientRequestId = c.req.header('x-request-id')?.match(CLIENT_REQUEST_ID)?.[0]
    const started = Date.now()
    const version = c.env.VERSION?.id ?? ''
    setLogVersion(version || null)
    await next()
    // On the response itself, whatever made it (a route may answer a Response of its own).
    const { headers, status } = c.res
    headers.set('X-Request-Id', requestId)
    if (clientRequestId) headers.set('X-Client-Request-Id', clientRequestId)
    const cache = c.get('cache')
    const upstream = c.get('upstream')
    const partner = c.get('partner')?.name ?? null
    const route = routePath(c, -1)
    const ms = Date.now() - started
    const level: LogLevel =
      c.get('logLevel') ??
      (status >= 500 ? 'error' : cache?.kind === 'stale-if-error' ? 'warn' : 'info')
    log(level, 'request', {
      requestId,
      clientRequestId,
      partner,
      method: c.req.method,
      route,
      status,
      cache: headers.get('cache-status'),
      upstreamStatus: upstream?.status ?? null,
      upstreamOutcome: upstream?.outcome ?? null,
      upstreamMs: upstream?.ms ?? null,
      upstreamRequestId: upstream?.requestId ?? null,
      ms,
      detail: c.get('errorDetail'),
    })
    try {
      // blob1 route, blob2 method, blob3 cache outcome, blob4 upstream status, blob5 version;
      // double1 status, double2 upstream ms, double3 total ms, double4 upstream calls.
      c.env.USAGE?.writeDataPoint({
        indexes: [partner ?? '-'],
        blobs: [route, c.req.method, outcomeWord(cache), String(upstream?.status ?? ''), version],
        doubles: [status, upstream?.ms ?? 0, ms, upstream?.attempts ?? 0],
      })
    } catch (err) {
      log('warn', 'usage_write_failed', { requestId, error: String(err) })
    }
  }
}
