import type { MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'

const EXPOSED_HEADERS = [
  'x-request-id',
  'Cache-Status',
  'Age',
  'ETag',
  'RateLimit',
  'RateLimit-Policy',
  'Retry-After',
]

/**
 * CORS for browser partners listed in `CORS_ALLOWED_ORIGINS` (comma-separated exact origins). With
 * the list empty (the default) no CORS header is ever sent, and a request from an origin not on the
 * list gets none either: origins are matched exactly, never reflected.
 */
export function corsFromAllowlist(): MiddlewareHandler<{ Bindings: Env }> {
  let parsed: { raw: string; allowed: Set<string> } | undefined
  const handlers = new Map<string, MiddlewareHandler>()
  return async function corsMiddleware(c, next) {
    const raw = c.env.CORS_ALLOWED_ORIGINS ?? ''
    if (raw.trim() === '') return next()
    if (parsed?.raw !== raw) {
      const origins = raw.split(',').map((o) => o.trim())
      parsed = { raw, allowed: new Set(origins.filter(Boolean)) }
      handlers.clear()
    }
    const origin = c.req.header('origin')
    if (!origin || !parsed.allowed.has(origin)) {
      await next()
      c.header('Vary', 'Origin', { append: true })
      return
    }
    let handler = handlers.get(origin)
    if (!handler) {
      handler = cors({
        origin,
        allowMethods: ['GET', 'HEAD', 'OPTIONS'],
        allowHeaders: ['Authorization', 'Content-Type', 'If-None-Match', 'Cache-Control'],
        exposeHeaders: EXPOSED_HEADERS,
        maxAge: 600,
      })
      handlers.set(origin, handler)
    }
    return handler(c, next)
  }
}
