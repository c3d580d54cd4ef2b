import { errorText, type LogLevel } from './log'

type ErrorType = 'invalid_request_error' | 'rate_limit_error' | 'server_error'
type Status = 400 | 401 | 404 | 405 | 422 | 429 | 500 | 502 | 503 | 504

export interface ErrorSpec {
  status: Status
  type: ErrorType
  /** The wire `code`; null for none, or for the upstream's own where `relayed`. */
  code: string | null
  /** The default message (the contract's example). */
  message: string
  /** `x-should-retry`, which the official SDK obeys before its own rules; null: not sent. */
  shouldRetry: boolean | null
  /** `Retry-After`: always 1 s, a wait the thrower computes ('computed'), or none. */
  retryAfter: 1 | 'computed' | null
  /** When a client gets it, for the contract and the README. */
  when: string
  /** The upstream's own type, code, param and message (scrubbed), where they are safe. */
  relayed?: true
  /** The example's `param`. */
  param?: string
  /** Not a List groups answer: left out of that route's contract. */
  offRoute?: true
  headers?: Record<string, string>
  level?: LogLevel
}

const spec = <T extends Record<string, ErrorSpec>>(catalogue: T) => catalogue

const RETRY_SOON = { shouldRetry: true, retryAfter: 1 } as const
const FINAL = { shouldRetry: false, retryAfter: null } as const
const UPSTREAM_FAILED = 'The upstream API failed to answer. Please retry.'
const PARTNER_REALM = 'Bearer realm="groups-gateway"'

/**
 * Every error the gateway answers, said once: the code builds them from here, and the contract's
 * error responses and the README's table are generated from it (`npm run docs:tables`).
 */
export const ERRORS = spec({
  invalid_parameter: {
    status: 400,
    type: 'invalid_request_error',
    code: null,
    message:
      'Invalid \'limit\': expected an integer from 0 to 1000, written with decimal digits only, but got "1e3".',
    when: 'A query parameter is invalid or repeated; `param` names it.',
    param: 'limit',
    ...FINAL,
  },
  upstream_bad_request: {
    status: 400,
    type: 'invalid_request_error',
    code: null,
    relayed: true,
    message: 'The upstream API rejected the request (status 400).',
    when: 'The upstream refused the query.',
    ...FINAL,
  },
  invalid_api_key: {
    status: 401,
    type: 'invalid_request_error',
    code: 'invalid_api_key',
    message:
      "Missing or invalid partner key. Send your key as 'Authorization: Bearer <key>'; ask the gateway's operators for one.",
    when: 'The partner key is missing, malformed, unknown, revoked or disabled.',
    headers: { 'WWW-Authenticate': PARTNER_REALM },
    ...FINAL,
  },
  invalid_operator_key: {
    status: 401,
    type: 'invalid_request_error',
    code: 'invalid_api_key',
    message: 'Missing or invalid operator key.',
    when: 'The operator key of `POST /admin/cache/purge` is missing or wrong.',
    headers: { 'WWW-Authenticate': 'Bearer realm="groups-gateway-operator"' },
    offRoute: true,
    ...FINAL,
  },
  unknown_url: {
    status: 404,
    type: 'invalid_request_error',
    code: 'unknown_url',
    message: 'Invalid URL (GET /nowhere)',
    when: 'No such path.',
    offRoute: true,
    ...FINAL,
  },
  upstream_not_found: {
    status: 404,
    type: 'invalid_request_error',
    code: null,
    relayed: true,
    message: "No group found with id 'group_01J1F8ABCDXYZ'.",
    when: 'The upstream did not find what the query refers to, e.g. an unknown `after`.',
    param: 'after',
    ...FINAL,
  },
  method_not_allowed: {
    status: 405,
    type: 'invalid_request_error',
    code: 'method_not_allowed',
    message: 'Method POST is not allowed on /v1/organization/groups; use GET or HEAD.',
    when: 'The path exists for other methods (listed in `Allow`).',
    offRoute: true,
    ...FINAL,
  },
  upstream_unprocessable: {
    status: 422,
    type: 'invalid_request_error',
    code: null,
    relayed: true,
    message: 'The upstream could not process this query.',
    when: 'The upstream could not process the query.',
    ...FINAL,
  },
  partner_rate_limited: {
    status: 429,
    type: 'rate_limit_error',
    code: 'rate_limit_exceeded',
    message:
      "Rate limit reached for partner 'acme' (about 600 requests per 60 s, counted per Cloudflare location). Please retry after about 7 seconds.",
    when: 'The partner\u2019s rate limit is reached; `Retry-After` is the window\u2019s end.',
    shouldRetry: true,
    retryAfter: 'computed',
  },
  auth_failures_limited: {
    status: 429,
    type: 'rate_limit_error',
    code: 'rate_limit_exceeded',
    message:
      'Too many requests with a missing or invalid partner key from this address. Please retry after 42 seconds.',
    when: 'Too many refused keys came from this address; `Retry-After` is the window\u2019s end.',
    shouldRetry: true,
    retryAfter: 'computed',
  },
  upstream_rate_limited: {
    status: 429,
    type: 'rate_limit_error',
    code: 'rate_limit_exceeded',
    message: 'The upstream API is rate limiting the gateway. Please retry after 2 seconds.',
    when: 'The upstream is rate limiting the gateway; `Retry-After` is its hint, and `retry-after-ms` too when it sent one.',
    shouldRetry: true,
    retryAfter: 'computed',
    // The upstream's quota is the gateway's, not the partner's: operators should see it.
    level: 'warn',
  },
  gateway_misconfigured: {
    status: 500,
    type: 'server_error',
    code: 'gateway_misconfigured',
    message: 'The gateway is not configured correctly. Please contact its operators.',
    when: 'A secret is missing or a var malformed; details only in the log.',
    ...FINAL,
  },
  internal_error: {
    status: 500,
    type: 'server_error',
    code: null,
    message:
      'The gateway hit an unexpected error. Please retry; if it persists, contact its operators.',
    when: 'The gateway hit an unexpected error.',
    shouldRetry: null,
    retryAfter: null,
  },
  upstream_error: {
    status: 502,
    type: 'server_error',
    code: 'upstream_error',
    message: UPSTREAM_FAILED,
    when: 'The upstream failed and no stale page could stand in.',
    ...RETRY_SOON,
  },
  upstream_unreachable: {
    status: 502,
    type: 'server_error',
    code: 'upstream_unreachable',
    message: 'The gateway could not reach the upstream API. Please retry.',
    when: 'The upstream could not be reached.',
    ...RETRY_SOON,
  },
  upstream_invalid_response: {
    status: 502,
    type: 'server_error',
    code: 'upstream_invalid_response',
    message: 'The upstream API returned a response the gateway could not validate. Please retry.',
    when: 'The upstream returned a page that fails its schema or contradicts itself.',
    ...RETRY_SOON,
  },
  upstream_auth_failed: {
    status: 502,
    type: 'server_error',
    code: 'upstream_auth_failed',
    message:
      'The gateway could not authenticate with the upstream API. Please contact its operators.',
    when: 'The upstream refused the admin key: only an operator can fix it.',
    ...FINAL,
  },
  auth_unavailable: {
    status: 503,
    type: 'server_error',
    code: 'auth_unavailable',
    message: 'The gateway cannot check partner keys right now. Please retry.',
    when: 'Partner keys cannot be checked right now (KV unreadable).',
    ...RETRY_SOON,
  },
  unhealthy: {
    status: 503,
    type: 'server_error',
    code: 'gateway_misconfigured',
    message: 'The gateway is not configured correctly. Please contact its operators.',
    when: '`/healthz` only: the gateway is misconfigured.',
    offRoute: true,
    ...FINAL,
  },
  upstream_timeout: {
    status: 504,
    type: 'server_error',
    code: 'upstream_timeout',
    message: 'The upstream API did not answer in time. Please retry.',
    when: 'The upstream did not answer in time.',
    ...RETRY_SOON,
  },
  not_cached: {
    status: 504,
    type: 'invalid_request_error',
    code: 'not_cached',
    message:
      'This page is not in the gateway\u2019s cache, and the request asked for only-if-cached.',
    when: 'The request asked for `only-if-cached` and the cache cannot answer it.',
    level: 'info',
    ...FINAL,
  },
})

export type ErrorName = keyof typeof ERRORS

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
}

export interface ErrorInit {
  message?: string
  param?: string | null
  /** The `Retry-After` seconds of a 'computed' wait. */
  retryAfter?: number
  headers?: Record<string, string>
  /** Logged, never sent: what an operator needs to know. Must hold no secret. */
  detail?: string
  cause?: unknown
  /** A relayed refusal's own type and code. */
  type?: string
  code?: string | null
}

/** An error as plain data, to cross a Durable Object call. */
export interface SerializedError {
  name: ErrorName
  status: number
  body: ErrorBody
  headers: Record<string, string>
  detail?: string | undefined
}

/**
 * An error with the answer the caller should see, built from its catalogue entry. Thrown anywhere;
 * `onError` (http/errors.ts) sends it. Like Hono's `HTTPException`, it carries a `cause`.
 */
export class AppError extends Error {
  readonly status: Status
  readonly body: ErrorBody
  readonly headers: Record<string, string>
  readonly detail: string | undefined
  readonly level: LogLevel | undefined

  constructor(
    readonly kind: ErrorName,
    init: ErrorInit = {},
  ) {
    const s: ErrorSpec = ERRORS[kind]
    const message = init.message ?? s.message
    super(message, { cause: init.cause })
    this.name = 'AppError'
    this.status = s.status
    this.body = {
      error: {
        message,
        type: init.type ?? s.type,
        param: init.param ?? null,
        code: init.code === undefined ? s.code : init.code,
      },
    }
    this.headers = { ...s.headers, ...init.headers }
    if (s.shouldRetry !== null) this.headers['x-should-retry'] = String(s.shouldRetry)
    const wait = s.retryAfter === 1 ? 1 : init.retryAfter
    if (wait !== undefined) this.headers['Retry-After'] = String(wait)
    this.detail = init.detail ?? (init.cause === undefined ? undefined : errorText(init.cause))
    this.level = s.level
  }

  /** The same error with other headers or another operator-only detail. */
  with(extra: { headers?: Record<string, string>; detail?: string }): AppError {
    return AppError.from({
      ...this.toJSON(),
      headers: { ...this.headers, ...extra.headers },
      detail: extra.detail ?? this.detail,
    })
  }

  toJSON(): SerializedError {
    const { kind: name, status, body, headers, detail } = this
    return { name, status, body, headers, detail }
  }

  static from(e: SerializedError): AppError {
    const { message, param, type, code } = e.body.error
    return new AppError(e.name, {
      message,
      param,
      type,
      code,
      headers: e.headers,
      detail: e.detail,
    })
  }
}
