import type { MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'
import { type LogLevel, log, setLogVersion } from '../log'
import type { CacheOutcome } from '../pages/outcome'
import type { UpstreamTrace } from '../upstream/client'

declare module 'hono' {
  interface ContextVariableMap {
    /** What the page cache did for this request, if it was asked. */
    cache: CacheOutcome
    /** What the upstream calls made for this request did, if any were made. */
    upstream: UpstreamTrace
  }
}

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
 * A request's telemetry, written once its response is complete: one JSON log line (the only billed
 * log event: the invocation log is off in wrangler.toml) saying who (partner name, never a key),
 * what, the outcome, what the cache and the upstream did, and the operator-only detail; and one
 * Analytics Engine data point, never awaited, indexed by partner. Both carry the deployed version.
 * The line's level: the error's own, else `error` for a 5xx, `warn` for a page served in place of
 * a failing upstream, `info` for the rest.
 */
export function telemetry(): MiddlewareHandler<{ Bindings: Env }> {
  let versionSet = false
  return async function telemetryMiddleware(c, next) {
    const started = Date.now()
    const version = c.env.VERSION?.id ?? ''
    if (!versionSet) {
      setLogVersion(version || null)
      versionSet = true
    }
    await next()
    const { status } = c.res
    const cache = c.get('cache')
    const upstream = c.get('upstream')
    const partner = c.get('partner')?.name ?? null
    const route = routePath(c, -1)
    const ms = Date.now() - started
    const requestId = c.get('requestId')
    const level: LogLevel =
      c.get('logLevel') ??
      (status >= 500 ? 'error' : cache?.kind === 'stale-if-error' ? 'warn' : 'info')
    log(level, 'request', {
      requestId,
      clientRequestId: c.get('clientRequestId'),
      partner,
      method: c.req.method,
      route,
      status,
      cache: c.res.headers.get('cache-status'),
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
