import type { MiddlewareHandler } from 'hono'
import { bearerKey, type PartnerDirectory, readPartnerKeySecret, unauthorized } from './directory'
import type { FailedAuthLimiter } from './failures'
import { hasValidCheck } from './keys'
import { type PartnerLimiter, rateLimited, rateLimitHeaders } from './limiter'
import { AUTH_FAILURES, type Partner } from './model'

declare module 'hono' {
  interface ContextVariableMap {
    /** The authenticated partner, on `/v1/*` routes. */
    partner: Partner
  }
}

/**
 * Requires `Authorization: Bearer <partner key>` of a known, enabled partner. A key this isolate
 * knows costs nothing more. Any other key must first carry a valid check value (one HMAC, no I/O):
 * a made-up key is refused on that alone and counts against nobody. A key with a valid check is
 * always looked up (once per lookup period); only its refusal (revoked, rotated out, disabled)
 * counts against the client's address, and an address over that budget gets 429 for refused keys
 * while its valid keys still pass.
 */
export function partnerAuth(
  directory: PartnerDirectory,
  failures: FailedAuthLimiter,
  now: () => number,
): MiddlewareHandler<{ Bindings: Env }> {
  return async function partnerAuthMiddleware(c, next) {
    const key = bearerKey(c.req.header('authorization'))
    const t = now()
    let partner = directory.peek(key, t)
    if (partner === undefined) {
      if (!(await hasValidCheck(key, readPartnerKeySecret(c.env)))) throw unauthorized()
      partner = await directory.find(c.env.PARTNERS, key, t)
    }
    if (!partner) {
      const ip = c.req.header('cf-connecting-ip')
      const binding = c.env[AUTH_FAILURES.binding]
      throw await failures.refuse(ip, binding, c.get('requestId'), unauthorized())
    }
    c.set('partner', partner)
    await next()
  }
}

/** Applies the partner's rate limit, and tells the partner where it stands on every answer. */
export function partnerRateLimit(limiter: PartnerLimiter): MiddlewareHandler<{ Bindings: Env }> {
  return async function partnerRateLimitMiddleware(c, next) {
    const partner = c.get('partner')
    const binding = c.env[partner.tier.binding]
    const decision = await limiter.check(partner, binding, Date.now(), c.get('requestId'))
    for (const [name, value] of rateLimitHeaders(partner.tier, decision)) c.header(name, value)
    if (!decision.allowed) throw rateLimited(partner, decision)
    await next()
  }
}
