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
