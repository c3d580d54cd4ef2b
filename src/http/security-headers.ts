import type { MiddlewareHandler } from 'hono'
import { secureHeaders } from 'hono/secure-headers'

/**
 * JSON only: what OWASP's REST Security Cheat Sheet asks of an API (HSTS, nosniff, DENY framing, a
 * `'none'` CSP) plus CORP. Browser-page headers (COOP and the like) only on `/docs`: every header
 * is bytes on every hot response.
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
export function securityHeaders(): MiddlewareHandler {
  return function securityHeadersMiddleware(c, next) {
    const docs = c.req.path === '/docs' || c.req.path.startsWith('/docs/')
    return (docs ? docsHeaders : apiHeaders)(c, next)
  }
}
