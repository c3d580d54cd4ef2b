import type { MiddlewareHandler } from 'hono'

/** What every response carries: OWASP's REST Security Cheat Sheet asks these of an API. */
const EVERY = [
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Strict-Transport-Security', 'max-age=15552000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
] as const

/**
 * JSON only: the above and a `'none'` CSP. Browser-page headers (COOP and the like) only on
 * `/docs`: every header is bytes on every hot response. Fixed pairs, built once (Hono's
 * `secureHeaders` would build the same from options): a response pays only the loop that sets them.
 */
const API_HEADERS = [
  ...EVERY,
  ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
] as const

/** Swagger UI runs only its own files; "Try it out" may call this origin and nothing else. */
const DOCS_HEADERS = [
  ...EVERY,
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Origin-Agent-Cluster', '?1'],
  ['Referrer-Policy', 'no-referrer'],
  ['X-DNS-Prefetch-Control', 'off'],
  ['X-Download-Options', 'noopen'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '0'],
  [
    'Content-Security-Policy',
    // Swagger UI's React components set inline style attributes.
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  ],
] as const

/** Responses made by `apiResponse`: they carry the API's headers from the start. */
const secured = new WeakSet<Response>()

/**
 * The API's security headers and `fixed` ones, as one `Headers` for a route to build once and
 * answer from (`apiResponse`): a response then copies it whole, where setting each header is a
 * call into the runtime (the hot hit's CPU, docs/benchmarks.md).
 */
export function apiHeaders(fixed: [string, string][]): Headers {
  return new Headers([...API_HEADERS, ...fixed])
}

/** A response with a copy of `base` (from `apiHeaders`) and the `varying` headers set on it. */
export function apiResponse(
  body: BodyInit | null,
  status: number,
  base: Headers,
  varying: Record<string, string>,
): Response {
  const headers = new Headers(base)
  for (const name in varying) headers.set(name, varying[name] as string)
  const response = new Response(body, { status, headers })
  secured.add(response)
  return response
}

/**
 * Security headers on every response, whatever made it, with the docs' own policy under `/docs`;
 * one made by `apiResponse` (and not replaced since) has them already.
 */
export function securityHeaders(): MiddlewareHandler {
  return async function securityHeadersMiddleware(c, next) {
    const docs = c.req.path === '/docs' || c.req.path.startsWith('/docs/')
    await next()
    if (secured.has(c.res)) return
    const { headers } = c.res
    for (const [name, value] of docs ? DOCS_HEADERS : API_HEADERS) headers.set(name, value)
  }
}
