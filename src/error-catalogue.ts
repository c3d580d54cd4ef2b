import type { LogLevel } from './log'

export type Status = 400 | 401 | 404 | 405 | 422 | 429 | 500 | 502 | 503 | 504

export interface ErrorSpec {
  status: Status
  type: 'invalid_request_error' | 'rate_limit_error' | 'server_error'
  /** The wire `code` (null: none, or the upstream's own when `relayed`). */
  code: string | null
  /** The default message, and the contract's example. */
  message: string
  /** `x-should-retry`, which the official SDK obeys before its own rules (null: not sent). */
  shouldRetry: boolean | null
  /** `Retry-After`: 1 s, a wait the thrower computes, or none. */
  retryAfter: 1 | 'computed' | null
  /** When a client gets it: for the contract and the README. */
  when: string
  /** The upstream's own type, code, param and message, where they quote no secret. */
  relayed?: true
  /** The example's `param`. */
  param?: string
  /** Not an answer of the List groups route: left out of its contract. */
  offRoute?: true
  headers?: Record<string, string>
  level?: LogLevel
}

type Entry = Omit<ErrorSpec, 'code'> & { code?: string | null }

/** A family of errors: their type and retry hints, and their code if they share one. */
function kind(type: ErrorSpec['type'], retry: boolean, after: Entry['retryAfter'], code?: string) {
  return (status: Status, when: string, message: string, extra?: Partial<ErrorSpec>): Entry => ({
    ...{ status, type, shouldRetry: retry, retryAfter: after, when, message },
    ...(code ? { code } : {}),
    ...extra,
  })
}

const MISCONFIGURED = 'The gateway is not configured correctly. Please contact its operators.'

/**
 * Every error the gateway answers, said once. An entry's `code` is its name unless it says
 * otherwise. The code builds errors from here; the contract's error responses and the README's
 * table are generated from it (`npm run docs:tables`). A function that `errorSpecs` calls once:
 * a cached hit reads none of it, so an isolate's start does not build it.
 */
function catalogue() {
  const client = kind('invalid_request_error', false, null)
  const limited = kind('rate_limit_error', true, 'computed', 'rate_limit_exceeded')
  const server = kind('server_error', true, 1)
  const fatal = kind('server_error', false, null)
  return {
    invalid_parameter: client(
      400,
      'A query parameter is invalid or repeated; `param` names it.',
      'Invalid \'limit\': expected an integer from 0 to 1000, written with decimal digits only, but got "1e3".',
      { code: null, param: 'limit' },
    ),
    upstream_bad_request: client(
      400,
      'The upstream refused the query.',
      'The upstream API rejected the request (status 400).',
      { code: null, relayed: true },
    ),
    invalid_api_key: client(
      401,
      'The partner key is missing, malformed, unknown, revoked or disabled.',
      "Missing or invalid partner key. Send your key as 'Authorization: Bearer <key>'; ask the gateway's operators for one.",
      { headers: { 'WWW-Authenticate': 'Bearer realm="groups-gateway"' } },
    ),
    invalid_operator_key: client(
      401,
      'The operator key of `POST /admin/cache/purge` is missing or wrong.',
      'Missing or invalid operator key.',
      {
        code: 'invalid_api_key',
        headers: { 'WWW-Authenticate': 'Bearer realm="groups-gateway-operator"' },
        offRoute: true,
      },
    ),
    unknown_url: client(404, 'No such path.', 'Invalid URL (GET /nowhere)', { offRoute: true }),
    upstream_not_found: client(
      404,
      'The upstream did not find what the query refers to, e.g. an unknown `after`.',
      "No group found with id 'group_01J1F8ABCDXYZ'.",
      { code: null, relayed: true, param: 'after' },
    ),
    method_not_allowed: client(
      405,
      'The path exists for other methods (listed in `Allow`).',
      'Method POST is not allowed on /v1/organization/groups; use GET or HEAD.',
      { offRoute: true },
    ),
    upstream_unprocessable: client(
      422,
      'The upstream could not process the query.',
      'The upstream could not process this query.',
      { code: null, relayed: true },
    ),
    partner_rate_limited: limited(
      429,
      'The partner\u2019s rate limit is reached.',
      "Rate limit reached for partner 'acme' (about 600 requests per 60 s, counted per Cloudflare location). Please retry after about 7 seconds.",
    ),
    auth_failures_limited: limited(
      429,
      'Too many refused keys came from this address.',
      'Too many requests with a missing or invalid partner key from this address. Please retry after 42 seconds.',
    ),
    upstream_rate_limited: limited(
      429,
      'The upstream is rate limiting the gateway (`retry-after-ms` too, if it sent one).',
      'The upstream API is rate limiting the gateway. Please retry after 2 seconds.',
      // The upstream's quota is the gateway's, not the partner's: operators should see it.
      { level: 'warn' },
    ),
    gateway_misconfigured: fatal(
      500,
      'A secret is missing or a var malformed; details only in the log.',
      MISCONFIGURED,
    ),
    internal_error: fatal(
      500,
      'The gateway hit an unexpected error.',
      'The gateway hit an unexpected error. Please retry; if it persists, contact its operators.',
      { code: null, shouldRetry: null },
    ),
    upstream_error: server(
      502,
      'The upstream failed and no stale page could stand in.',
      'The upstream API failed to answer. Please retry.',
    ),
    upstream_unreachable: server(
      502,
      'The upstream could not be reached.',
      'The gateway could not reach the upstream API. Please retry.',
    ),
    upstream_invalid_response: server(
      502,
      'The upstream returned a page that fails its schema or contradicts itself.',
      'The upstream API returned a response the gateway could not validate. Please retry.',
    ),
    upstream_auth_failed: fatal(
      502,
      'The upstream refused the admin key: only an operator can fix it.',
      'The gateway could not authenticate with the upstream API. Please contact its operators.',
    ),
    auth_unavailable: server(
      503,
      'Partner keys cannot be checked right now (KV unreadable).',
      'The gateway cannot check partner keys right now. Please retry.',
    ),
    unhealthy: fatal(
      503,
      'The gateway is misconfigured (`/healthz` only); details only in its log.',
      MISCONFIGURED,
      {
        code: 'gateway_misconfigured',
        offRoute: true,
      },
    ),
    upstream_timeout: server(
      504,
      'The upstream did not answer in time.',
      'The upstream API did not answer in time. Please retry.',
    ),
    not_cached: client(
      504,
      'The request asked for `only-if-cached` and the cache cannot answer it.',
      'This page is not in the gateway\u2019s cache, and the request asked for only-if-cached.',
      { level: 'info' },
    ),
  }
}

export type ErrorName = keyof ReturnType<typeof catalogue>

let specs: Record<ErrorName, ErrorSpec> | undefined

/** The catalogue, each entry with its wire `code`; built on first use (the first error's answer). */
export function errorSpecs(): Record<ErrorName, ErrorSpec> {
  specs ??= Object.fromEntries(
    Object.entries(catalogue()).map(([name, e]) => [
      name,
      { ...e, code: e.code === undefined ? name : e.code },
    ]),
  ) as Record<ErrorName, ErrorSpec>
  return specs
}
