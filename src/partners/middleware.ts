import type { MiddlewareHandler } from 'hono'
import { bearerKey, type PartnerDirectory, unauthorized } from './directory'
import { PARTNER_KEY_PATTERN } from './keys'
import { type PartnerLimiter, rateLimited, rateLimitHeaders } from './limiter'
import type { Partner } from './model'

declare module 'hono' {
  interface ContextVariableMap {
    /** The authenticated partner, on `/v1/*` routes. */
    partner: Partner
  }
}

/** Requires `Authorization: Bearer <partner key>` of a known, enabled partner. */
export function partnerAuth(
  directory: PartnerDirectory,
  now: () => number,
): MiddlewareHandler<{ Bindings: Env }> {
  return async function partnerAuthMiddleware(c, next) {
    const key = bearerKey(c.req.header('authorization'))
    if (!PARTNER_KEY_PATTERN.test(key)) throw unauthorized()
    const partner = await directory.find(c.env.PARTNERS, key, now())
    if (!partner) throw unauthorized()
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
