import type { MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import { secureHeaders } from 'hono/secure-headers'
import type { AppBindings } from './types'

/**
 * An API answers JSON only: nothing on it may load, frame or run anything. The set OWASP's REST
 * Security Cheat Sheet asks of an API (HSTS, nosniff, DENY framing, a `'none'` CSP) plus CORP;
 * the browser-page headers (COOP, X-XSS-Protection and the like) go to `/docs` only, since every
 * header is bytes on every hot response.
 */
const apiHeaders = secureHeaders({
  contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  xFrameOptions: 'DENY',
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  referrerPolicy: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
})

/** Swagger UI runs only its own files; "Try it out" may call this origin and nothing else. */
const docsHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    // Swagger UI's React components set inline style attributes.
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
    fontSrc: ["'self'"],
    connectSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: 'DENY',
})

/** Security headers on every response, with the docs' own policy under `/docs`. */
export function securityHeaders(): MiddlewareHandler<AppBindings> {
  return function securityHeadersMiddleware(c, next) {
    return (c.req.path === '/docs' || c.req.path.startsWith('/docs/') ? docsHeaders : apiHeaders)(
      c,
      next,
    )
  }
}

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
export function corsFromAllowlist(): MiddlewareHandler<AppBindings> {
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
