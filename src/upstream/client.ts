import { AppError } from '../errors'
import { errorText } from '../log'
import { type KeyPieces, keyPieces, relayedError, safeRequestId } from './redact'
import type { PageQuery } from './schemas'
import { invalidPage, MAX_BODY_BYTES, readCapped } from './validate'

/** What the upstream calls made for a request did, for its log line. */
export interface UpstreamTrace {
  status?: number
  outcome?: 'response' | 'timeout' | 'network_error'
  ms?: number
  requestId?: string | null
  attempts?: number
}

/** How the upstream is called; `budgetMs` bounds all attempts and the waits between them. */
export interface UpstreamSettings {
  baseUrl: string
  timeoutMs: number
  maxRetries: number
  budgetMs: number
  retryBaseMs: number
}

/** `requestId` is sent as `X-Client-Request-Id`, so both sides' logs can be joined. */
type UpstreamRequest = UpstreamSettings & { adminKey: string; query: PageQuery; requestId: string }

/** The admin key, read only where the upstream is called, so nothing else ever holds it. */
export function readAdminKey(env: { OPENAI_ADMIN_KEY?: string }): string {
  const key = env.OPENAI_ADMIN_KEY?.trim()
  if (key) return key
  throw new AppError('gateway_misconfigured', {
    detail:
      'The OPENAI_ADMIN_KEY secret is not set: run `wrangler secret put OPENAI_ADMIN_KEY` (or put it in .dev.vars locally).',
  })
}

const REFUSALS = {
  400: 'upstream_bad_request',
  404: 'upstream_not_found',
  422: 'upstream_unprocessable',
} as const

/** A refusal of the query itself is the query's answer, not an upstream fault: shared as a page. */
export function isQueryRefusal(status: number): status is keyof typeof REFUSALS {
  return status in REFUSALS
}

type Failure = { error: AppError; retry: boolean; hintMs?: number | null }

/**
 * Fetches one validated page's bytes (or the error the caller should see) and what the calls did,
 * retrying within `budgetMs`. The admin key goes into the request header only: no byte sent back
 * that holds a piece of it is relayed, stored or logged.
 */
export async function fetchGroupsPage(req: UpstreamRequest) {
  const started = Date.now()
  const deadline = started + req.budgetMs
  const trace: UpstreamTrace = {}
  // Built once per call, never kept: nothing outside the call holds the key.
  const pieces = keyPieces(req.adminKey)
  for (let attempt = 0; ; attempt++) {
    const timeoutMs = Math.min(req.timeoutMs, Math.max(deadline - Date.now(), 1))
    const outcome = await attemptOnce(req, pieces, timeoutMs, trace)
    trace.attempts = attempt + 1
    trace.ms = Date.now() - started
    if (typeof outcome === 'string') return { ok: true, text: outcome, trace } as const
    const { error, retry, hintMs = null } = outcome
    const delay =
      retry && attempt < req.maxRetries ? retryDelay(attempt, req.retryBaseMs, hintMs) : null
    // No retry starts with under a second left: it could only time out.
    if (delay === null || Date.now() + delay + Math.min(req.timeoutMs, 1_000) > deadline) {
      const tried = attempt === 0 ? '1 attempt' : `${attempt + 1} attempts`
      const detail = `${error.detail} (${tried})`
      return { ok: false, error: error.with({ detail }), trace } as const
    }
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
}

/** One call: the page, or why not (every failure has a `detail`). */
async function attemptOnce(
  req: UpstreamRequest,
  pieces: KeyPieces,
  timeoutMs: number,
  trace: UpstreamTrace,
) {
  const signal = AbortSignal.timeout(timeoutMs)
  const { after, limit, order } = req.query
  // A fixed order, only known parameters.
  const query = new URLSearchParams({ ...(after !== null && { after }), limit: `${limit}`, order })
  let res: Response
  let text: string | null
  try {
    res = await fetch(`${req.baseUrl}/organization/groups?${query}`, {
      headers: {
        Authorization: `Bearer ${req.adminKey}`,
        Accept: 'application/json',
        'X-Client-Request-Id': req.requestId,
      },
      signal,
      // A redirect would take the admin key elsewhere: it fails instead.
      redirect: 'manual',
    })
    // The timeout bounds the body too: a server may stall mid-response.
    text = await readCapped(res)
  } catch (err) {
    trace.outcome = signal.aborted ? 'timeout' : 'network_error'
    trace.status = undefined
    const detail = `upstream network error: ${errorText(err)}`
    const error = signal.aborted
      ? new AppError('upstream_timeout', { detail: `upstream timed out after ${timeoutMs} ms` })
      : new AppError('upstream_unreachable', { detail })
    return { error, retry: true }
  }
  trace.outcome = 'response'
  trace.status = res.status
  trace.requestId = safeRequestId(res.headers.get('x-request-id'), pieces)
  if (text === null) return invalid(`upstream body exceeds ${MAX_BODY_BYTES} bytes`)
  if (!res.ok) {
    return {
      error: upstreamError(res, text, pieces, req.query),
      retry: shouldRetry(res.status, res.headers.get('x-should-retry')),
      hintMs: retryAfterMs(res.headers),
    }
  }
  const reason = invalidPage(text, req.query.limit, pieces)
  return reason === null ? text : invalid(reason)
}

function invalid(detail: string): Failure {
  return { error: new AppError('upstream_invalid_response', { detail }), retry: false }
}

function upstreamError(res: Response, text: string, pieces: KeyPieces, query: PageQuery): AppError {
  const { status } = res
  const detail = `upstream answered ${status}`
  if (isQueryRefusal(status)) {
    return new AppError(REFUSALS[status], relayedError(status, text, pieces, query))
  }
  if (status === 401 || status === 403) {
    // The upstream quotes fragments of the key it was given: this body is never relayed or logged.
    return new AppError('upstream_auth_failed', {
      detail: `${detail}: check the OPENAI_ADMIN_KEY secret`,
    })
  }
  if (status === 429) {
    const { seconds, ms } = relayedRetryHint(res.headers)
    return new AppError('upstream_rate_limited', {
      message: `The upstream API is rate limiting the gateway. Please retry after ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`,
      retryAfter: seconds,
      // As well, when the upstream sent one: the official SDK prefers its precision.
      headers: ms === null ? {} : { 'retry-after-ms': String(ms) },
      detail,
    })
  }
  return new AppError(status === 408 ? 'upstream_timeout' : 'upstream_error', { detail })
}

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
function shouldRetry(status: number, header: string | null): boolean {
  if (header === 'true' || header === 'false') return header === 'true'
  return [408, 409, 429].includes(status) || status >= 500
}

/** The wait after attempt `attempt` (from 0): the hint, or null past a minute; else a backoff. */
function retryDelay(attempt: number, baseMs: number, hintMs: number | null): number | null {
  if (hintMs !== null) return hintMs > 60_000 ? null : hintMs
  return Math.round(Math.min(baseMs * 2 ** attempt, 8_000) * (1 - Math.random() * 0.25))
}
