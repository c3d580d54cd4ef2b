import type { MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import { VarsSchema } from '../config'

/**
 * What a browser client may read: the cache and rate-limit fields, and what the official `openai`
 * SDK reads to decide on a retry (`x-should-retry`, `retry-after-ms`, `Retry-After`) and to quote
 * a request (`x-request-id`).
 */
const EXPOSED_HEADERS = [
  'x-request-id',
  'X-Client-Request-Id',
  'x-should-retry',
  'retry-after-ms',
  'Retry-After',
  'Cache-Status',
  'Age',
  'ETag',
  'RateLimit',
  'RateLimit-Policy',
]

function stainless(name: string): string {
  return `X-Stainless-${name}`
}

/**
 * What a browser client may send: the partner key, the cache directives and validators, and every
 * header the official `openai` SDK adds in a browser (its `X-Stainless-*` platform and retry
 * headers, and `OpenAI-Organization` / `OpenAI-Project` when set), so it works unchanged.
 */
const ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'If-None-Match',
  'Cache-Control',
  'X-Request-Id',
  'OpenAI-Organization',
  'OpenAI-Project',
  ...['Lang', 'Package-Version', 'OS', 'Arch', 'Runtime', 'Runtime-Version'].map(stainless),
  ...['Retry-Count', 'Timeout', 'Helper-Method'].map(stainless),
]

/**
 * CORS for browser partners listed in `CORS_ALLOWED_ORIGINS` (comma-separated exact origins). With
 * the list empty (the default) no CORS header is ever sent, and a request from an origin not on the
 * list gets none either: origins are matched exactly, never reflected.
 */
export function corsFromAllowlist(): MiddlewareHandler<{ Bindings: Env }> {
  let parsed: { raw: string; allowed: ReadonlySet<string> } | undefined
  const handlers = new Map<string, MiddlewareHandler>()
  return async function corsMiddleware(c, next) {
    const raw = c.env.CORS_ALLOWED_ORIGINS ?? ''
    if (raw.trim() === '') return next()
    if (parsed?.raw !== raw) {
      parsed = { raw, allowed: VarsSchema.shape.CORS_ALLOWED_ORIGINS.parse(raw) }
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
        allowHeaders: ALLOWED_HEADERS,
        exposeHeaders: EXPOSED_HEADERS,
        maxAge: 600,
      })
      handlers.set(origin, handler)
    }
    return handler(c, next)
  }
}
