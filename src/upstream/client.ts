import { AppError } from '../errors'
import { errorText } from '../log'
import { pageInconsistency } from './consistency'
import { type PageQuery, toSearchParams } from './query'
import { type KeyPieces, keyPieces, pageQuotesKey, relayedError, safeRequestId } from './redact'
import { relayedRetryHint, retryAfterMs } from './retry-hint'
import { type GroupList, GroupListSchema } from './schemas'

/** What one upstream call did, for the request's log line. */
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
  /** Retries after the first attempt, for network errors, timeouts, 408, 409, 429 and 5xx. */
  maxRetries: number
  /** Bounds all attempts and the waits between them. */
  budgetMs: number
  /** The first backoff; each retry doubles it (with jitter), up to `MAX_BACKOFF_MS`. */
  retryBaseMs: number
}

export interface UpstreamRequest extends UpstreamSettings {
  adminKey: string
  query: PageQuery
  /** Our request id, sent as `X-Client-Request-Id` so both sides' logs can be joined. */
  requestId: string
  /** Filled in with what the call did, for the request's log line. */
  trace: UpstreamTrace
}

export interface UpstreamPage {
  /** The upstream's bytes, validated: what is served and cached. */
  text: string
  page: GroupList
}

/** The admin key, read only where the upstream is called, so nothing else ever holds it. */
export function readAdminKey(env: { OPENAI_ADMIN_KEY?: string }): string {
  const key = env.OPENAI_ADMIN_KEY
  if (typeof key !== 'string' || key.trim() === '') {
    throw AppError.misconfigured(
      'The OPENAI_ADMIN_KEY secret is not set: run `wrangler secret put OPENAI_ADMIN_KEY` (or put it in .dev.vars locally).',
    )
  }
  return key.trim()
}

/**
 * The most of an upstream body the gateway reads: a page of 1,000 groups is about 200 KB, so
 * anything past this is not a page, and reading it would only spend the isolate's memory.
 */
export const MAX_BODY_BYTES = 4 * 1024 * 1024

/** A body as text, or null (and the rest of the body abandoned) once it passes `cap` bytes. */
async function readCapped(res: Response, cap: number): Promise<string | null> {
  if (Number(res.headers.get('content-length')) > cap) {
    await res.body?.cancel()
    return null
  }
  if (!res.body) return ''
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let text = ''
  let bytes = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return text + decoder.decode()
    bytes += value.byteLength
    if (bytes > cap) {
      await reader.cancel()
      return null
    }
    text += decoder.decode(value, { stream: true })
  }
}

/** Statuses about the caller's own query, relayed with what of their body quotes no secret. */
const QUERY_REFUSALS = new Set([400, 404, 422])

/**
 * Whether the upstream refused the query itself (400, 404, 422): the query's answer, not a fault of
 * the upstream's. The page fetcher shares it as it would a page; pre-warm drops that page.
 */
export function isQueryRefusal(status: number): boolean {
  return QUERY_REFUSALS.has(status)
}

const RETRYABLE_STATUSES = new Set([408, 409, 429])
const MAX_BACKOFF_MS = 8_000
/** A server's own retry hint is waited on only up to this; a longer one ends the retries. */
const MAX_HONORED_RETRY_AFTER_MS = 60_000
/** No retry starts with less than this left in the budget: it could only time out. */
const MIN_ATTEMPT_MS = 1_000

type Attempt =
  | { page: UpstreamPage }
  | { error: AppError; retryable: boolean; retryAfterMs: number | null }

/**
 * Fetches one validated page from the upstream List groups endpoint, retrying what is worth
 * retrying (as the official SDK does: network errors, 408, 409, 429, 5xx; `x-should-retry` first;
 * `retry-after-ms`, then `retry-after`) within `budgetMs`. Throws an `AppError` saying what the
 * caller should see. The admin key goes into the request header and nowhere else: whatever the
 * upstream says back, no byte of it that holds a piece of the key is relayed, stored or logged.
 */
export async function fetchGroupsPage(
  req: UpstreamRequest,
  fetchImpl: typeof fetch = fetch,
): Promise<UpstreamPage> {
  const started = Date.now()
  const deadline = started + req.budgetMs
  const pieces = keyPieces(req.adminKey)
  for (let attempt = 0; ; attempt++) {
    const timeoutMs = Math.min(req.timeoutMs, Math.max(deadline - Date.now(), 1))
    const outcome = await attemptOnce(req, pieces, timeoutMs, fetchImpl)
    req.trace.attempts = attempt + 1
    req.trace.ms = Date.now() - started
    if ('page' in outcome) return outcome.page
    if (!outcome.retryable || attempt >= req.maxRetries) throw afterAttempts(outcome.error, attempt)
    const wait = outcome.retryAfterMs ?? backoff(req.retryBaseMs, attempt)
    const minAttempt = Math.min(req.timeoutMs, MIN_ATTEMPT_MS)
    if (wait > MAX_HONORED_RETRY_AFTER_MS || Date.now() + wait + minAttempt > deadline) {
      throw afterAttempts(outcome.error, attempt)
    }
    await new Promise((resolve) => setTimeout(resolve, wait))
  }
}

/** The final error, its detail saying how many attempts were made. */
function afterAttempts(error: AppError, attempt: number): AppError {
  const attempts = `${attempt + 1} ${attempt === 0 ? 'attempt' : 'attempts'}`
  return error.withDetail(`${error.detail ?? `upstream answered ${error.status}`} (${attempts})`)
}

function backoff(baseMs: number, attempt: number): number {
  const ms = Math.min(baseMs * 2 ** attempt, MAX_BACKOFF_MS)
  return Math.round(ms * (1 - Math.random() * 0.25))
}

async function attemptOnce(
  req: UpstreamRequest,
  pieces: KeyPieces,
  timeoutMs: number,
  fetchImpl: typeof fetch,
): Promise<Attempt> {
  const url = `${req.baseUrl}/organization/groups?${toSearchParams(req.query)}`
  const signal = AbortSignal.timeout(timeoutMs)
  let res: Response
  let text: string
  try {
    res = await fetchImpl(url, {
      method: 'GET',
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
    const body = await readCapped(res, MAX_BODY_BYTES)
    if (body === null) {
      Object.assign(req.trace, { outcome: 'response', status: res.status } satisfies UpstreamTrace)
      const error = invalidResponse(`upstream body exceeds ${MAX_BODY_BYTES} bytes`)
      return { error, retryable: false, retryAfterMs: null }
    }
    text = body
  } catch (err) {
    const timedOut = signal.aborted
    req.trace.outcome = timedOut ? 'timeout' : 'network_error'
    req.trace.status = undefined
    return {
      error: timedOut
        ? new AppError(504, {
            message: 'The upstream API did not answer in time. Please retry.',
            type: 'server_error',
            code: 'upstream_timeout',
            detail: `upstream timed out after ${timeoutMs} ms`,
            shouldRetry: true,
            headers: { 'Retry-After': '1' },
          })
        : new AppError(502, {
            message: 'The gateway could not reach the upstream API. Please retry.',
            type: 'server_error',
            code: 'upstream_unreachable',
            detail: `upstream network error: ${errorText(err)}`,
            shouldRetry: true,
            headers: { 'Retry-After': '1' },
          }),
      retryable: true,
      retryAfterMs: null,
    }
  }

  Object.assign(req.trace, {
    outcome: 'response',
    status: res.status,
    requestId: safeRequestId(res.headers.get('x-request-id'), pieces),
  } satisfies UpstreamTrace)

  if (res.ok) {
    try {
      return { page: { text, page: parsePage(text, req.query.limit, pieces) } }
    } catch (err) {
      return { error: err as AppError, retryable: false, retryAfterMs: null }
    }
  }
  const shouldRetry = res.headers.get('x-should-retry')
  const retryable =
    shouldRetry === 'true' ||
    (shouldRetry !== 'false' && (RETRYABLE_STATUSES.has(res.status) || res.status >= 500))
  return {
    error: upstreamError(res, text, pieces, req.query),
    retryable,
    retryAfterMs: retryAfterMs(res.headers),
  }
}

function parsePage(text: string, limit: number, pieces: KeyPieces): GroupList {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw invalidResponse('upstream body is not JSON')
  }
  const parsed = GroupListSchema.safeParse(json)
  if (!parsed.success) {
    const where = parsed.error.issues[0]?.path.join('.') || '(root)'
    throw invalidResponse(`upstream page failed the GroupList schema at ${where}`)
  }
  const inconsistency = pageInconsistency(text, json, parsed.data, limit)
  if (inconsistency) throw invalidResponse(`upstream page is inconsistent: ${inconsistency}`)
  if (pageQuotesKey(text, pieces)) throw invalidResponse('upstream page quotes the admin key')
  return parsed.data
}

function invalidResponse(detail: string): AppError {
  return new AppError(502, {
    message: 'The upstream API returned a response the gateway could not validate. Please retry.',
    type: 'server_error',
    code: 'upstream_invalid_response',
    detail,
    shouldRetry: true,
    headers: { 'Retry-After': '1' },
  })
}

function upstreamError(res: Response, text: string, pieces: KeyPieces, query: PageQuery): AppError {
  const status = res.status
  if (isQueryRefusal(status)) {
    const { withheld, ...body } = relayedError(status, text, pieces, query)
    return new AppError(status as 400 | 404 | 422, {
      ...body,
      ...(withheld.length > 0
        ? {
            detail: `upstream answered ${status}; withheld its ${withheld.join(', ')}: they quoted the admin key or a credential`,
          }
        : {}),
      shouldRetry: false,
    })
  }
  if (status === 401 || status === 403) {
    // The upstream quotes fragments of the key it was given here: never relay or log this body.
    return new AppError(502, {
      message:
        'The gateway could not authenticate with the upstream API. Please contact its operators.',
      type: 'server_error',
      code: 'upstream_auth_failed',
      detail: `upstream answered ${status}: check the OPENAI_ADMIN_KEY secret`,
      // Only an operator can fix the key: retrying just spends the caller's time.
      shouldRetry: false,
    })
  }
  if (status === 429) {
    const { seconds, ms } = relayedRetryHint(res.headers)
    return new AppError(429, {
      message: `The upstream API is rate limiting the gateway. Please retry after ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`,
      type: 'rate_limit_error',
      code: 'rate_limit_exceeded',
      // The upstream's quota is the gateway's, not the partner's: operators should see it.
      level: 'warn',
      // `retry-after-ms` as well, when the upstream gave one: the official SDK prefers its precision.
      headers: {
        'Retry-After': String(seconds),
        ...(ms !== null ? { 'retry-after-ms': String(ms) } : {}),
      },
      shouldRetry: true,
    })
  }
  if (status === 408) {
    return new AppError(504, {
      message: 'The upstream API did not answer in time. Please retry.',
      type: 'server_error',
      code: 'upstream_timeout',
      detail: 'upstream answered 408',
      shouldRetry: true,
      headers: { 'Retry-After': '1' },
    })
  }
  return AppError.upstreamFailed(`upstream answered ${status}`)
}
