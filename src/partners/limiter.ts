import { AppError } from '../errors'
import { log } from '../log'
import type { Partner } from './model'

/** The binding's counters live on the machine (well under 1 ms): past this, it has failed. */
export const LIMITER_TIMEOUT_MS = 100
/** Partners whose counts an isolate keeps at most; a partner key is needed to add one. */
const MAX_TRACKED_PARTNERS = 10_000

/**
 * Per-partner rate limits: each request asks the partner's tier binding, by partner name. A binding
 * that fails or is slow lets the request through: the key was verified, the upstream keeps its own
 * limit, and failing closed would turn a limiter outage into a full outage. The binding answers
 * only yes or no, so `remaining` is this isolate's count in the clock-aligned window (an upper
 * bound with several isolates), and `reset` the end of that window, the binding's own period.
 */
export class PartnerLimiter {
  private readonly counts = new Map<string, { end: number; count: number }>()

  constructor(private readonly timeoutMs = LIMITER_TIMEOUT_MS) {}

  async check({ name, tier }: Partner, binding: RateLimit, now: number, requestId: string) {
    const allowed = await bindingAllows(binding, name, this.timeoutMs, { requestId, partner: name })
    const end = windowEnd(now, tier.periodSeconds)
    // By tier too: a partner moved to another tier starts that tier's count afresh.
    const id = `${tier.name}:${name}`
    const window = this.counts.get(id)
    const count = (window?.end === end ? window.count : 0) + (allowed ? 1 : 0)
    if (!window && this.counts.size >= MAX_TRACKED_PARTNERS) this.counts.clear()
    this.counts.set(id, { end, count })
    const remaining = allowed ? Math.max(0, tier.limit - count) : 0
    return { allowed, remaining, reset: Math.max(1, Math.ceil((end - now) / 1000)) }
  }
}

/** When the clock-aligned window of `periodSeconds` (a binding's own) that holds `now` ends. */
export const windowEnd = (now: number, periodSeconds: number) =>
  (Math.floor(now / (periodSeconds * 1000)) + 1) * periodSeconds * 1000

/** Whether a rate limiting binding lets `key` through: yes if it fails or is slow (logged). */
export async function bindingAllows(
  binding: RateLimit,
  key: string,
  timeoutMs: number,
  logFields: Record<string, unknown>,
): Promise<boolean> {
  let error: string
  let timer: number | undefined
  try {
    // Cleared once the binding answers: measured in workerd (docs/benchmarks.md), a timer left
    // pending to the request's end (`scheduler.wait`) costs about 2% more CPU per request.
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, timeoutMs)
    })
    const answer = await Promise.race([binding.limit({ key }), timeout])
    if (answer) return answer.success
    error = `no answer within ${timeoutMs} ms`
  } catch (err) {
    error = err instanceof Error ? err.message : 'unknown'
  } finally {
    clearTimeout(timer)
  }
  log('warn', 'rate_limiter_failed', { ...logFields, error })
  return true
}

export function rateLimited({ name, tier }: Partner, { reset }: { reset: number }): AppError {
  const seconds = `${reset} ${reset === 1 ? 'second' : 'seconds'}`
  return new AppError('partner_rate_limited', {
    message: `Rate limit reached for partner '${name}' (about ${tier.limit} requests per ${tier.periodSeconds} s, counted per Cloudflare location). Please retry after about ${seconds}.`,
    retryAfter: reset,
  })
}
