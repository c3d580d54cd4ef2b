import type { MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import { readOrigins } from '../config'

const stainless = (names: string[]) => names.map((name) => `X-Stainless-${name}`)

/**
 * CORS for a listed origin: what the official `openai` SDK sends from a browser (its
 * `X-Stainless-*` headers, `OpenAI-Organization` / `OpenAI-Project`) and reads to decide on a
 * retry or quote a request, so it works unchanged; and the cache and rate-limit fields.
 */
const listedOrigin = () =>
  cors({
    // Used only for an origin on the list (below): never a reflection of any origin.
    origin: (origin) => origin,
    allowMethods: ['GET', 'HEAD', 'OPTIONS'],
    allowHeaders: [
      'Authorization',
      'Content-Type',
      'If-None-Match',
      'Cache-Control',
      'X-Request-Id',
      'OpenAI-Organization',
      'OpenAI-Project',
      ...stainless(['Lang', 'Package-Version', 'OS', 'Arch', 'Runtime', 'Runtime-Version']),
      ...stainless(['Retry-Count', 'Timeout', 'Helper-Method']),
    ],
    exposeHeaders: [
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
    ],
    maxAge: 600,
  })

/**
 * CORS for browser partners listed in `CORS_ALLOWED_ORIGINS` (comma-separated exact origins). With
 * the list empty (the default) no CORS header is ever sent, and a request from an origin not on the
 * list gets none either: origins are matched exactly, never reflected.
 */
export function corsFromAllowlist(): MiddlewareHandler<{ Bindings: Env }> {
  let parsed: { raw: string; allowed: ReadonlySet<string> } | undefined
  // Built for the first listed origin: with none (the default) an isolate never builds it.
  let listed: MiddlewareHandler | undefined
  return async function corsMiddleware(c, next) {
    const raw = c.env.CORS_ALLOWED_ORIGINS ?? ''
    if (raw.trim() === '') return next()
    if (parsed?.raw !== raw) {
      parsed = { raw, allowed: readOrigins(raw) }
    }
    const origin = c.req.header('origin')
    if (origin && parsed.allowed.has(origin)) {
      listed ??= listedOrigin()
      return listed(c, next)
    }
    await next()
    c.header('Vary', 'Origin', { append: true })
  }
}
