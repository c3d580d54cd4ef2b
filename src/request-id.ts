/**
 * A caller's `X-Request-Id` if it is safe to echo (up to 255 letters, digits, `_`, `-`, `=`: the
 * rule of Hono's request-id middleware, which the rest of the app uses), else a new UUID.
 */
export function requestIdFrom(header: string | null): string {
  return header && header.length <= 255 && !/[^\w\-=]/.test(header) ? header : crypto.randomUUID()
}
