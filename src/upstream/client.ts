import { AppError } from '../errors'
import { errorText } from '../log'
import { type PageQuery, toSearchParams } from './query'
import { type KeyPieces, keyPieces, relayedError, safeRequestId } from './redact'
import { relayedRetryHint, retryAfterMs, retryDelay, shouldRetry } from './retry'
import { invalidPage, MAX_BODY_BYTES, readCapped } from './validate'

/** What the upstream calls made for a request did, for its log line. */
export interface UpstreamTrace {
  status?: number
  outcome?: 'response' | 'timeout' | 'network_error'
  ms?: number
  requestId?: string | null
  attempts?: number
}

/** How the gateway calls the upstream: where, and how long and how often it tries. */
export interface UpstreamSettings {
  /** The Admin API base, without a trailing slash, e.g. `https://api.openai.com/v1`. */
  baseUrl: string
  /** Bounds each attempt, body included. */
  timeoutMs: number
  /** Retries after the first attempt (see `shouldRetry`). */
  maxRetries: number
  /** Bounds all attempts and the waits between them. */
  budgetMs: number
  /** The first backoff (see `retryDelay`). */
  retryBaseMs: number
}

interface UpstreamRequest extends UpstreamSettings {
  adminKey: string
  query: PageQuery
  /** Our request id, sent as `X-Client-Request-Id` so both sides' logs can be joined. */
  requestId: string
}

/** A validated page's bytes, or the error the caller should see; what the calls did either way. */
export type UpstreamResult =
  | { ok: true; text: string; trace: UpstreamTrace }
  | { ok: false; error: AppError; trace: UpstreamTrace }

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

/**
 * Whether the upstream refused the query itself (400, 404, 422): the query's answer, not a fault of
 * the upstream's. The page fetcher shares it as it would a page; pre-warm drops that page.
 */
export function isQueryRefusal(status: number): status is keyof typeof REFUSALS {
  return status in REFUSALS
}

/** No retry starts with less than this left in the budget: it could only time out. */
const MIN_ATTEMPT_MS = 1_000

type Attempt =
  | { text: string }
  | { error: AppError; retry: boolean; hintMs: number | null; status: number | null }

/**
 * Fetches one validated page from the upstream List groups endpoint, retrying what is worth
 * retrying within `budgetMs`. The admin key goes into the request header and nowhere else: no byte
 * the upstream sends back that holds a piece of it is relayed, stored or logged.
 */
export async function fetchGroupsPage(req: UpstreamRequest): Promise<UpstreamResult> {
  const started = Date.now()
  const deadline = started + req.budgetMs
  const pieces = keyPieces(req.adminKey)
  const trace: UpstreamTrace = {}
  for (let attempt = 0; ; attempt++) {
    const timeoutMs = Math.min(req.timeoutMs, Math.max(deadline - Date.now(), 1))
    const outcome = await attemptOnce(req, pieces, timeoutMs, trace)
    trace.attempts = attempt + 1
    trace.ms = Date.now() - started
    if ('text' in outcome) return { ok: true, text: outcome.text, trace }
    const wait = outcome.retry && attempt < req.maxRetries
    const delay = wait ? retryDelay(attempt, req.retryBaseMs, outcome.hintMs) : null
    const minAttempt = Math.min(req.timeoutMs, MIN_ATTEMPT_MS)
    if (delay === null || Date.now() + delay + minAttempt > deadline) {
      const { error, status } = outcome
      const tried = attempt === 0 ? '1 attempt' : `${attempt + 1} attempts`
      const detail = `${error.detail ?? `upstream answered ${status}`} (${tried})`
      return { ok: false, error: error.with({ detail }), trace }
    }
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
}

async function attemptOnce(
  req: UpstreamRequest,
  pieces: KeyPieces,
  timeoutMs: number,
  trace: UpstreamTrace,
): Promise<Attempt> {
  const url = `${req.baseUrl}/organization/groups?${toSearchParams(req.query)}`
  const signal = AbortSignal.timeout(timeoutMs)
  let res: Response
  let text: string | null
  try {
    res = await fetch(url, {
      headers: {
        Authorization: `Bearer ${req.adminKey}`,
        Accept: 'application/json',
        'X-Client-Request-Id': req.requestId,
      },
      signal,
      // A redirect would take the admin key somewhere else: treat it as a failure instead.
      redirect: 'manual',
    })
    // The timeout also bounds reading the body: a server may stall mid-response.
    text = await readCapped(res)
  } catch (err) {
    const timedOut = signal.aborted
    trace.outcome = timedOut ? 'timeout' : 'network_error'
    trace.status = undefined
    const error = timedOut
      ? new AppError('upstream_timeout', { detail: `upstream timed out after ${timeoutMs} ms` })
      : new AppError('upstream_unreachable', {
          detail: `upstream network error: ${errorText(err)}`,
        })
    return { error, retry: true, hintMs: null, status: null }
  }
  trace.outcome = 'response'
  trace.status = res.status
  trace.requestId = safeRequestId(res.headers.get('x-request-id'), pieces)
  const { status } = res
  if (text === null) {
    const detail = `upstream body exceeds ${MAX_BODY_BYTES} bytes`
    return {
      error: new AppError('upstream_invalid_response', { detail }),
      retry: false,
      hintMs: null,
      status,
    }
  }
  if (res.ok) {
    const invalid = invalidPage(text, req.query.limit, pieces)
    if (invalid === null) return { text }
    const error = new AppError('upstream_invalid_response', { detail: invalid })
    return { error, retry: false, hintMs: null, status }
  }
  const retry = shouldRetry(status, res.headers.get('x-should-retry'))
  const error = upstreamError(res, text, pieces, req.query)
  return { error, retry, hintMs: retryAfterMs(res.headers), status }
}

/** What the caller sees for an upstream error status. */
function upstreamError(res: Response, text: string, pieces: KeyPieces, query: PageQuery): AppError {
  const { status } = res
  if (isQueryRefusal(status)) {
    const { withheld, ...body } = relayedError(status, text, pieces, query)
    const detail =
      withheld.length > 0
        ? `upstream answered ${status}; withheld its ${withheld.join(', ')}: they quoted the admin key or a credential`
        : undefined
    return new AppError(REFUSALS[status], { ...body, detail })
  }
  if (status === 401 || status === 403) {
    // The upstream quotes fragments of the key it was given here: never relay or log this body.
    const detail = `upstream answered ${status}: check the OPENAI_ADMIN_KEY secret`
    return new AppError('upstream_auth_failed', { detail })
  }
  if (status === 429) {
    const { seconds, ms } = relayedRetryHint(res.headers)
    return new AppError('upstream_rate_limited', {
      message: `The upstream API is rate limiting the gateway. Please retry after ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`,
      retryAfter: seconds,
      // As well, when the upstream gave one: the official SDK prefers its precision.
      headers: ms !== null ? { 'retry-after-ms': String(ms) } : {},
    })
  }
  const detail = `upstream answered ${status}`
  return new AppError(status === 408 ? 'upstream_timeout' : 'upstream_error', { detail })
}
