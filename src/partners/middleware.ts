import type { MiddlewareHandler } from 'hono'
import { AppError } from '../errors'
import { bearerKey, type PartnerDirectory, readPartnerKeySecret } from './directory'
import type { FailedAuthLimiter } from './failures'
import { hasValidCheck } from './keys'
import { type PartnerLimiter, rateLimited } from './limiter'
import type { Partner } from './model'

declare module 'hono' {
  interface ContextVariableMap {
    /** The authenticated partner, on `/v1/*` routes. */
    partner: Partner
  }
}

type AuthState = { partners: PartnerDirectory; failures: FailedAuthLimiter; now: () => number }

/** One 401 for every kind of bad key, so a caller learns nothing about which check failed. */
const unauthorized = () => new AppError('invalid_api_key')

/**
 * Requires `Authorization: Bearer <key>` of a known, enabled partner. A key this isolate knows
 * passes at once; any other must carry a valid check value (one HMAC, no I/O), or is refused on
 * that alone. Refusals of keys with a valid check (revoked, disabled) count against the address.
 */
export function partnerAuth(state: AuthState): MiddlewareHandler<{ Bindings: Env }> {
  return async function partnerAuthMiddleware(c, next) {
    const key = bearerKey(c.req.header('authorization'))
    const now = state.now()
    let partner = state.partners.peek(key, now)
    if (partner === undefined) {
      if (!(await hasValidCheck(key, readPartnerKeySecret(c.env)))) throw unauthorized()
      partner = await state.partners.find(c.env.PARTNERS, key, now)
    }
    if (!partner) throw await state.failures.refuse(c, unauthorized())
    c.set('partner', partner)
    await next()
  }
}

/** Applies the partner's rate limit, and tells the partner where it stands on every answer. */
export function partnerRateLimit(limiter: PartnerLimiter): MiddlewareHandler<{ Bindings: Env }> {
  return async function partnerRateLimitMiddleware(c, next) {
    const partner = c.get('partner')
    const { tier } = partner
    const binding = c.env[tier.binding]
    const decision = await limiter.check(partner, binding, Date.now(), c.get('requestId'))
    const fields = {
      'RateLimit-Policy': `"${tier.name}";q=${tier.limit};w=${tier.periodSeconds}`,
      RateLimit: `"${tier.name}";r=${decision.remaining};t=${decision.reset}`,
    }
    if (!decision.allowed) throw rateLimited(partner, decision).with({ headers: fields })
    await next()
    // On the response itself, whatever made it (a route may answer a Response of its own).
    const { headers } = c.res
    for (const [name, value] of Object.entries(fields)) headers.set(name, value)
  }
}
