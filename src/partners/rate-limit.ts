import type { MiddlewareHandler } from 'hono'
import { AppError } from '../errors'
import { log } from '../log'
import type { AppBindings } from '../types'

interface Window {
  epoch: number
  count: number
}

/**
 * Applies the partner's tier through its rate limiting binding, keyed by partner name, and tells
 * the partner where it stands with the IETF `RateLimit-Policy` and `RateLimit` fields.
 *
 * The binding answers only yes or no, so `r` (remaining) and `t` (seconds to reset) come from this
 * isolate's own count over wall-clock-aligned windows: exact where one isolate serves a partner
 * (and in local dev), an upper bound on what is left where several do.
 *
 * If the binding itself fails, the request goes through (fail-open) and the failure is logged:
 * the key was already verified, the upstream keeps its own limit, and failing closed would turn a
 * limiter outage into a full outage for every partner.
 */
export function partnerRateLimit(): MiddlewareHandler<AppBindings> {
  const windows = new Map<string, Window>()

  return async function partnerRateLimitMiddleware(c, next) {
    const { name, tier } = c.get('partner')
    const periodMs = tier.periodSeconds * 1000
    const t = Date.now()
    const epoch = Math.floor(t / periodMs)
    const reset = Math.max(1, Math.ceil(((epoch + 1) * periodMs - t) / 1000))

    let allowed = true
    try {
      allowed = (await c.env[tier.binding].limit({ key: name })).success
    } catch (err) {
      log('warn', 'rate_limiter_failed', {
        requestId: c.get('requestId'),
        partner: name,
        error: err instanceof Error ? err.message : 'unknown',
      })
    }

    let window = windows.get(name)
    if (!window || window.epoch !== epoch) {
      window = { epoch, count: 0 }
      windows.set(name, window)
    }
    if (allowed) window.count++
    const remaining = allowed ? Math.max(0, tier.limit - window.count) : 0

    c.header('RateLimit-Policy', `"${tier.name}";q=${tier.limit};w=${tier.periodSeconds}`)
    c.header('RateLimit', `"${tier.name}";r=${remaining};t=${reset}`)
    if (!allowed) {
      throw new AppError(429, {
        message: `Rate limit reached for partner '${name}' (${tier.limit} requests per ${tier.periodSeconds} s). Please retry after ${reset} seconds.`,
        type: 'rate_limit_error',
        code: 'rate_limit_exceeded',
        headers: { 'Retry-After': String(reset) },
      })
    }
    await next()
  }
}
