import type { MiddlewareHandler } from 'hono'
import { AppError } from '../errors'
import { log } from '../log'
import type { AppBindings } from '../types'
import type { Tier } from './tiers'

export interface Partner {
  name: string
  tier: Tier
}

/** One request's standing: whether it may pass, and what the `RateLimit` field says. */
export interface RateDecision {
  allowed: boolean
  /** Requests left in the window, as this isolate sees them. */
  remaining: number
  /** Seconds until the window resets. */
  reset: number
}

interface Window {
  epoch: number
  /** Requests this isolate let through in the window. */
  count: number
  /** Requests already paid for with a binding permit and not yet used. */
  leased: number
  /** The binding refused: once the leases in hand are used, refuse until the window ends. */
  refused: boolean
  /** A lease is being taken in the background. */
  renewing: boolean
}

/**
 * Per-partner rate limits through the partner's tier binding, keyed by partner name, with
 * permits taken a lease at a time (see `Tier.lease`) so a busy partner costs one binding call per
 * lease. Windows are wall-clock aligned, like the binding's; a lease ends with its window, so no
 * location lets more than the tier's limit through in a window. An isolate may leave up to
 * `lease - 1` paid requests unused per window: the limit errs on the strict side.
 *
 * The binding answers only yes or no, so `remaining` and `reset` come from this isolate's own
 * count: exact with one isolate (and locally), an upper bound on what is left with several.
 *
 * If the binding itself fails, the request goes through (fail-open) and the failure is logged:
 * the key was already verified, the upstream keeps its own limit, and failing closed would turn a
 * limiter outage into a full outage for every partner.
 */
export class PartnerRateLimits {
  private readonly windows = new Map<string, Window>()

  /** The decision if it needs no binding call (a lease in hand, or a refusal), else null. */
  tryLocal(partner: Partner, now: number): RateDecision | null {
    const window = this.window(partner, now)
    if (window.leased > 0) {
      window.leased--
      return this.decide(partner, window, now, true)
    }
    return window.refused ? this.decide(partner, window, now, false) : null
  }

  /**
   * Takes the next lease in the background once the one in hand runs low, so a busy partner's
   * requests never wait on the binding; null when there is nothing to do.
   */
  renewSoon(partner: Partner, binding: RateLimit, now: number, requestId: string) {
    const window = this.window(partner, now)
    const { lease } = partner.tier
    if (lease === 1 || window.renewing || window.refused || window.leased > Math.ceil(lease / 4)) {
      return null
    }
    window.renewing = true
    return (async () => {
      try {
        if ((await binding.limit({ key: partner.name })).success) window.leased += lease
        else window.refused = true
      } catch (err) {
        logLimiterFailure(err, partner, requestId)
      } finally {
        window.renewing = false
      }
    })()
  }

  async check(partner: Partner, binding: RateLimit, now: number, requestId: string) {
    const local = this.tryLocal(partner, now)
    if (local) return local
    const window = this.window(partner, now)
    let allowed = true
    try {
      allowed = (await binding.limit({ key: partner.name })).success
      if (allowed) window.leased += partner.tier.lease - 1
      else window.refused = true
    } catch (err) {
      logLimiterFailure(err, partner, requestId)
    }
    return this.decide(partner, window, now, allowed)
  }

  private window({ name, tier }: Partner, now: number): Window {
    const epoch = Math.floor(now / (tier.periodSeconds * 1000))
    // By tier too: leases paid under one binding never serve a partner moved to another.
    const id = `${tier.name}:${name}`
    let window = this.windows.get(id)
    if (!window || window.epoch !== epoch) {
      window = { epoch, count: 0, leased: 0, refused: false, renewing: false }
      this.windows.set(id, window)
    }
    return window
  }

  private decide({ tier }: Partner, window: Window, now: number, allowed: boolean): RateDecision {
    if (allowed) window.count++
    const periodMs = tier.periodSeconds * 1000
    return {
      allowed,
      remaining: allowed ? Math.max(0, tier.limit - window.count) : 0,
      reset: Math.max(1, Math.ceil(((window.epoch + 1) * periodMs - now) / 1000)),
    }
  }
}

function logLimiterFailure(err: unknown, partner: Partner, requestId: string): void {
  log('warn', 'rate_limiter_failed', {
    requestId,
    partner: partner.name,
    error: err instanceof Error ? err.message : 'unknown',
  })
}

/** The IETF `RateLimit-Policy` and `RateLimit` fields for a decision. */
export function rateLimitHeaders(tier: Tier, decision: RateDecision): [string, string][] {
  return [
    ['RateLimit-Policy', `"${tier.name}";q=${tier.limit};w=${tier.periodSeconds}`],
    ['RateLimit', `"${tier.name}";r=${decision.remaining};t=${decision.reset}`],
  ]
}

/** Applies the partner's rate limit and tells the partner where it stands. */
export function partnerRateLimit(): MiddlewareHandler<AppBindings> {
  return async function partnerRateLimitMiddleware(c, next) {
    const partner = c.get('partner')
    const limits = c.get('state').rateLimits
    const binding = c.env[partner.tier.binding]
    const decision = await limits.check(partner, binding, Date.now(), c.get('requestId'))
    const renewal = limits.renewSoon(partner, binding, Date.now(), c.get('requestId'))
    if (renewal) c.executionCtx.waitUntil(renewal)
    for (const [name, value] of rateLimitHeaders(partner.tier, decision)) c.header(name, value)
    if (!decision.allowed) {
      const { name, tier } = partner
      throw new AppError(429, {
        message: `Rate limit reached for partner '${name}' (${tier.limit} requests per ${tier.periodSeconds} s). Please retry after ${decision.reset} ${decision.reset === 1 ? 'second' : 'seconds'}.`,
        type: 'rate_limit_error',
        code: 'rate_limit_exceeded',
        headers: { 'Retry-After': String(decision.reset) },
        shouldRetry: true,
      })
    }
    await next()
  }
}
