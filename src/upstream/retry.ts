const DECIMAL = /^\d+(\.\d+)?$/
const DEFAULT_WAIT_MS = 1_000
/** The longest wait the gateway passes on, in either header: past an hour a hint is no plan. */
const MAX_WAIT_MS = 3_600_000

/** `retry-after-ms` as the upstream sent it, or null if it sent none (or not a number). */
function sentMs(headers: Headers): number | null {
  const raw = headers.get('retry-after-ms')?.trim()
  return raw && DECIMAL.test(raw) ? Number(raw) : null
}

/**
 * A server's retry hint in milliseconds (`retry-after-ms`, then `retry-after` in seconds or as an
 * HTTP date), or null if none: what the gateway waits before its own retry, as the official SDK does.
 */
export function retryAfterMs(headers: Headers, now = Date.now()): number | null {
  const ms = sentMs(headers)
  if (ms !== null) return ms
  const raw = headers.get('retry-after')?.trim()
  if (raw && DECIMAL.test(raw)) return Number(raw) * 1000
  const wait = raw && /[a-z]/i.test(raw) ? Date.parse(raw) - now : Number.NaN
  return wait >= 0 ? wait : null
}

/** The wait a 429 passes on: `Retry-After` seconds, and `retry-after-ms` if the upstream sent one. */
export interface RetryHint {
  seconds: number
  ms: number | null
}

/**
 * One wait, said twice: the upstream's hint, rounded up to whole milliseconds and capped at an
 * hour; `Retry-After` is it in seconds, rounded up (at least 1: a zero would invite a retry at
 * once), so `retry-after-ms` never says more than `Retry-After`. `retry-after-ms` is passed on only
 * when the upstream sent it: the SDK prefers its precision, and one the upstream never gave would
 * be invented.
 */
export function relayedRetryHint(headers: Headers, now = Date.now()): RetryHint {
  const hint = retryAfterMs(headers, now)
  const ms = Math.min(Math.ceil(hint ?? DEFAULT_WAIT_MS), MAX_WAIT_MS)
  return {
    seconds: Math.max(Math.ceil(ms / 1000), 1),
    ms: sentMs(headers) === null ? null : ms,
  }
}

const RETRYABLE_STATUSES = new Set([408, 409, 429])
const MAX_BACKOFF_MS = 8_000
/** A server's own retry hint is waited on only up to this; a longer one ends the retries. */
const MAX_HONORED_HINT_MS = 60_000

/**
 * Whether a failed attempt is worth another, as the official SDK decides: the upstream's
 * `x-should-retry` first, then network errors and timeouts (no status), 408, 409, 429 and 5xx.
 */
export function shouldRetry(status: number | null, header: string | null = null): boolean {
  if (header === 'true' || header === 'false') return header === 'true'
  return status === null || RETRYABLE_STATUSES.has(status) || status >= 500
}

/**
 * The wait before the retry that follows attempt `attempt` (0 for the first): the server's hint
 * if it gave one (null past a minute: no plan to wait on), else a backoff doubling from `baseMs`
 * up to 8 s, less up to 25 % jitter (`random` in [0, 1)).
 */
export function retryDelay(
  attempt: number,
  baseMs: number,
  hintMs: number | null,
  random = Math.random(),
): number | null {
  if (hintMs !== null) return hintMs > MAX_HONORED_HINT_MS ? null : hintMs
  return Math.round(Math.min(baseMs * 2 ** attempt, MAX_BACKOFF_MS) * (1 - random * 0.25))
}
