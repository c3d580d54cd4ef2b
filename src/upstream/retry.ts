const decimal = (raw: string | null) => (raw && /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : null)

/** A server's retry hint in ms (`retry-after-ms`, else `retry-after`: seconds or a date), or null. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | null {
  const ms = decimal(headers.get('retry-after-ms'))
  if (ms !== null) return ms
  const raw = headers.get('retry-after')
  const seconds = decimal(raw)
  if (seconds !== null) return seconds * 1000
  const wait = raw && /[a-z]/i.test(raw) ? Date.parse(raw) - now : Number.NaN
  return wait >= 0 ? wait : null
}

/**
 * The wait a 429 passes on, said twice: the hint (else 1 s) in whole ms, at most an hour; `seconds`
 * rounds it up, at least 1 (0 invites an instant retry). `ms` only if the upstream sent one.
 */
export function relayedRetryHint(headers: Headers, now = Date.now()) {
  const sent = decimal(headers.get('retry-after-ms')) !== null
  const ms = Math.min(Math.ceil(retryAfterMs(headers, now) ?? 1_000), 3_600_000)
  return { seconds: Math.max(Math.ceil(ms / 1000), 1), ms: sent ? ms : null }
}

/** Whether an error status is worth another try, as the official SDK decides. */
export function shouldRetry(status: number, header: string | null): boolean {
  if (header === 'true' || header === 'false') return header === 'true'
  return [408, 409, 429].includes(status) || status >= 500
}

/** The wait after attempt `attempt` (from 0): the hint, or null past a minute; else a backoff. */
export function retryDelay(attempt: number, baseMs: number, hintMs: number | null): number | null {
  if (hintMs !== null) return hintMs > 60_000 ? null : hintMs
  return Math.round(Math.min(baseMs * 2 ** attempt, 8_000) * (1 - Math.random() * 0.25))
}
