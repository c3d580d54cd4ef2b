import type { Context } from 'hono'
import { AppError } from '../errors'
import { bindingAllows, LIMITER_TIMEOUT_MS, windowEnd } from './limiter'
import { AUTH_FAILURES } from './model'

const MAX_BLOCKED_ADDRESSES = 10_000

/**
 * Refused keys, limited per client address by a binding of their own. Once the binding refuses an
 * address, this isolate refuses its unknown keys until the window ends, with no KV read or binding
 * call: made-up keys can neither drive unbounded KV reads nor guess at leisure.
 */
export class FailedAuthLimiter {
  private readonly blockedUntil = new Map<string, number>()

  /** Counts a refusal against `CF-Connecting-IP`: 429 while over budget, else `refusal`. */
  async refuse(c: Context<{ Bindings: Env }>, refusal: AppError): Promise<AppError> {
    const address = clientAddress(c.req.header('cf-connecting-ip'))
    const now = Date.now()
    let until = this.blockedUntil.get(address) ?? 0
    if (until <= now) {
      this.blockedUntil.delete(address)
      const binding = c.env[AUTH_FAILURES.binding]
      const fields = { requestId: c.get('requestId'), limiter: 'auth_failures' }
      if (await bindingAllows(binding, address, LIMITER_TIMEOUT_MS, fields)) return refusal
      until = windowEnd(now, AUTH_FAILURES.periodSeconds)
      if (this.blockedUntil.size >= MAX_BLOCKED_ADDRESSES) this.blockedUntil.clear()
      this.blockedUntil.set(address, until)
    }
    const seconds = Math.max(1, Math.ceil((until - now) / 1000))
    return new AppError('auth_failures_limited', {
      message: `Too many requests with a missing or invalid partner key from this address. Please retry after ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`,
      retryAfter: seconds,
    })
  }
}

/** IPv4 as it is, IPv6 by its /64 (one subscriber's), so a client cannot start afresh within it. */
function clientAddress(ip: string | undefined): string {
  if (!ip) return 'unknown'
  // IPv4, or IPv4 mapped into IPv6 (::ffff:192.0.2.1).
  if (ip.includes('.')) return ip.slice(ip.lastIndexOf(':') + 1)
  const [head, tail] = ip.toLowerCase().split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const zeros =
    tail === undefined ? [] : Array(Math.max(0, 8 - left.length - right.length)).fill('0')
  const prefix = [...left, ...zeros, ...right].slice(0, 4)
  return `${prefix.map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`
}
