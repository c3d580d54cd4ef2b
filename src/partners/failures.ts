import { AppError } from '../errors'
import { log } from '../log'
import { askBinding, LIMITER_TIMEOUT_MS } from './limiter'
import { AUTH_FAILURES } from './model'

/** Client addresses an isolate remembers as blocked at most. */
const MAX_BLOCKED_ADDRESSES = 10_000

/**
 * Failed authentication, limited per client address (`CF-Connecting-IP`) with a rate limiting
 * binding of its own: every refused key (missing, malformed, unknown, revoked) counts, a known key
 * never does. Once the binding refuses an address, this isolate refuses its unknown keys until
 * that window ends, without a KV read or a binding call: made-up keys cannot drive unbounded KV
 * reads, nor guess at leisure. Keys this isolate already knows as valid still pass.
 */
export class FailedAuthLimiter {
  private readonly blockedUntil = new Map<string, number>()

  constructor(private readonly timeoutMs = LIMITER_TIMEOUT_MS) {}

  /** Seconds the address stays blocked in this isolate, or 0. */
  blocked(address: string, now: number): number {
    const until = this.blockedUntil.get(address)
    if (until === undefined) return 0
    if (until > now) return Math.ceil((until - now) / 1000)
    this.blockedUntil.delete(address)
    return 0
  }

  /**
   * The answer to a refused credential from `ip` (`CF-Connecting-IP`): counted against its address,
   * the 429 while that address is over budget, else `refusal`.
   */
  async refuse(
    ip: string | undefined,
    binding: RateLimit,
    requestId: string,
    refusal: AppError,
  ): Promise<AppError> {
    const address = clientAddress(ip)
    const blocked = this.blocked(address, Date.now())
    if (blocked) return tooManyFailures(blocked)
    const { periodSeconds } = AUTH_FAILURES
    const seconds = await this.failed(address, binding, periodSeconds, Date.now(), requestId)
    return seconds ? tooManyFailures(seconds) : refusal
  }

  /** Counts a failure; the seconds the address is now blocked for, or 0 if it is not. */
  async failed(
    address: string,
    binding: RateLimit,
    periodSeconds: number,
    now: number,
    requestId: string,
  ): Promise<number> {
    const answer = await askBinding(binding, address, this.timeoutMs)
    if (typeof answer === 'string') {
      log('warn', 'rate_limiter_failed', { requestId, limiter: 'auth_failures', error: answer })
    }
    if (answer !== false) return 0
    const periodMs = periodSeconds * 1000
    const until = (Math.floor(now / periodMs) + 1) * periodMs
    if (this.blockedUntil.size >= MAX_BLOCKED_ADDRESSES) this.blockedUntil.clear()
    this.blockedUntil.set(address, until)
    return Math.max(1, Math.ceil((until - now) / 1000))
  }
}

/**
 * The address a failure budget is kept for: an IPv4 address as it is, an IPv6 address by its /64
 * (one subscriber's prefix: every address in it is the same client's to pick), so a client cannot
 * start afresh by moving within its own prefix.
 */
export function clientAddress(ip: string | undefined): string {
  if (!ip) return 'unknown'
  // An IPv4 address, or one mapped into IPv6 (::ffff:192.0.2.1): the IPv4 address itself.
  if (ip.includes('.')) return ip.slice(ip.lastIndexOf(':') + 1)
  const [head = '', tail = ''] = ip.toLowerCase().split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const groups = ip.includes('::')
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}

/** The 429 for an address with too many failed attempts. */
export function tooManyFailures(seconds: number): AppError {
  return new AppError('auth_failures_limited', {
    message: `Too many requests with a missing or invalid partner key from this address. Please retry after ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`,
    retryAfter: seconds,
  })
}
