import { AppError } from '../errors'
import { log } from '../log'
import type { Partner, Tier } from './model'

/** One request's standing: whether it may pass, and what the `RateLimit` field says. */
export interface RateDecision {
  allowed: boolean
  /** Requests left in the window as far as this isolate knows: an upper bound (see below). */
  remaining: number
  /** Seconds until the current window ends. */
  reset: number
}

/**
 * How long a request waits for the binding. Its counters live on the machine, so it answers in
 * well under a millisecond; past this it is treated as failed.
 */
export const LIMITER_TIMEOUT_MS = 100

/** Partners whose counts an isolate keeps at most; a partner key is needed to add one. */
const MAX_TRACKED_PARTNERS = 10_000

const TIMED_OUT = 'timed out' as const

/**
 * Per-partner rate limits: every request asks the partner's tier binding, keyed by partner name, so
 * a partner is refused only while the binding refuses, however its requests arrive (all at once,
 * or spread over many isolates). A binding call that throws or takes longer than
 * `LIMITER_TIMEOUT_MS` lets the request through (fail-open) and is logged: the key was already
 * verified, the upstream keeps its own limit, and failing closed would turn a limiter outage into
 * a full outage for every partner.
 *
 * The binding answers only yes or no, so the `RateLimit` field's `r` comes from this isolate's own
 * count in the clock-aligned window (exact with one isolate, as locally; an upper bound with
 * several), and its `t` and `Retry-After` from the end of that window, the binding's own period.
 */
export class PartnerLimiter {
  private readonly counts = new Map<string, { epoch: number; count: number }>()

  /** @param timeoutMs how long a request waits for the binding before it fails open. */
  constructor(private readonly timeoutMs = LIMITER_TIMEOUT_MS) {}

  async check(
    partner: Partner,
    binding: RateLimit,
    now: number,
    requestId: string,
  ): Promise<RateDecision> {
    const answer = await askBinding(binding, partner.name, this.timeoutMs)
    if (typeof answer === 'string') limiterFailed(partner.name, requestId, answer)
    const allowed = answer !== false
    return this.decide(partner, now, allowed)
  }

  private decide({ name, tier }: Partner, now: number, allowed: boolean): RateDecision {
    const periodMs = tier.periodSeconds * 1000
    const epoch = Math.floor(now / periodMs)
    // By tier too: a partner moved to another tier starts that tier's count afresh.
    const id = `${tier.name}:${name}`
    let window = this.counts.get(id)
    if (!window || window.epoch !== epoch) {
      if (!window && this.counts.size >= MAX_TRACKED_PARTNERS) this.counts.clear()
      window = { epoch, count: 0 }
      this.counts.set(id, window)
    }
    if (allowed) window.count++
    return {
      allowed,
      remaining: allowed ? Math.max(0, tier.limit - window.count) : 0,
      reset: Math.max(1, Math.ceil(((epoch + 1) * periodMs - now) / 1000)),
    }
  }
}

/**
 * Asks a rate limiting binding about a key, waiting at most `timeoutMs`: its answer, or why there
 * is none (the caller then lets the request through and logs it).
 */
export async function askBinding(
  binding: RateLimit,
  key: string,
  timeoutMs: number,
): Promise<boolean | string> {
  try {
    // A native wait, never cleared: a timer left pending ends with the request, and costs less
    // than arming and clearing one.
    const answer = await Promise.race([
      binding.limit({ key }),
      scheduler.wait(timeoutMs).then(() => TIMED_OUT),
    ])
    return answer === TIMED_OUT ? `no answer within ${timeoutMs} ms` : answer.success
  } catch (err) {
    return err instanceof Error ? err.message : 'unknown'
  }
}

function limiterFailed(partner: string, requestId: string, error: string): void {
  log('warn', 'rate_limiter_failed', { requestId, partner, error })
}

/** The IETF `RateLimit-Policy` and `RateLimit` fields for a decision. */
export function rateLimitHeaders(tier: Tier, decision: RateDecision): [string, string][] {
  return [
    ['RateLimit-Policy', `"${tier.name}";q=${tier.limit};w=${tier.periodSeconds}`],
    ['RateLimit', `"${tier.name}";r=${decision.remaining};t=${decision.reset}`],
  ]
}

/** The 429 for a refused request. */
export function rateLimited({ name, tier }: Partner, decision: RateDecision): AppError {
  const seconds = `${decision.reset} ${decision.reset === 1 ? 'second' : 'seconds'}`
  return new AppError('partner_rate_limited', {
    message: `Rate limit reached for partner '${name}' (about ${tier.limit} requests per ${tier.periodSeconds} s, counted per Cloudflare location). Please retry after about ${seconds}.`,
    retryAfter: decision.reset,
  })
}
