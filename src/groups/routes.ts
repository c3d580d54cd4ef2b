import { createRoute } from '@hono/zod-openapi'
import { type ErrorBody, ErrorSchema } from '../errors'
import { GROUP_LIST_EXAMPLE, GroupListSchema } from '../upstream/schemas'
import { LIST_GROUPS_HEADER_PARAMETERS, ListGroupsQuerySchema } from './schemas'

const requestIdHeader = {
  'x-request-id': {
    description:
      'Identifies this request in the gateway\u2019s logs; quote it when reporting a problem.',
    schema: { type: 'string' as const },
  },
}

const rateLimitHeaders = {
  'RateLimit-Policy': {
    description:
      'The partner\u2019s quota (IETF RateLimit header fields), e.g. `"standard";q=600;w=60`: about `q` requests per `w` seconds. Counted per Cloudflare location by the platform\u2019s rate limiting, which is approximate and eventually consistent: not an exact accounting.',
    schema: { type: 'string' as const },
  },
  RateLimit: {
    description:
      'Where the partner stands, e.g. `"standard";r=598;t=42`: `r` requests left and `t` seconds until the window resets, both the gateway\u2019s estimate (the platform does not say how its windows align); `t` is never more than one period.',
    schema: { type: 'string' as const },
  },
}

const pageCacheHeaders = {
  'Cache-Status': {
    description:
      'What the gateway\u2019s cache did (RFC 9211): `hit`, `fwd=uri-miss`, `fwd=stale`, `fwd=request`, `fwd-status`, `stored`, `collapsed`, `ttl` (seconds of freshness left, negative when stale) and `detail=stale-while-revalidate`, `detail=stale-if-error` or `detail=failure-shared` (an upstream failure of moments ago answered again, without a new call), e.g. `groups-gateway; hit; ttl=42`.',
    schema: { type: 'string' as const },
  },
  'Cache-Control': {
    description:
      'Always `private`, with `max-age` the page\u2019s whole freshness lifetime (`CACHE_TTL_SECONDS`); `Age` says how much of it is spent, so what is left is max-age - Age (RFC 9111).',
    schema: { type: 'string' as const },
  },
  Age: {
    description: 'Seconds since the gateway fetched this page from the upstream.',
    schema: { type: 'integer' as const, minimum: 0 },
  },
  ETag: {
    description: 'A strong validator of the page\u2019s bytes; send it back as `If-None-Match`.',
    schema: { type: 'string' as const },
  },
}

const retryAfterHeader = {
  'Retry-After': {
    description: 'Seconds to wait before retrying.',
    schema: { type: 'integer' as const, minimum: 1 },
  },
}

const retryAfterMsHeader = {
  'retry-after-ms': {
    description:
      'Milliseconds to wait, when the upstream said so precisely; the official SDK prefers it to `Retry-After`.',
    schema: { type: 'integer' as const, minimum: 0 },
  },
}

const shouldRetryHeader = {
  'x-should-retry': {
    description:
      '`true` when retrying may succeed, `false` when it cannot; the official SDK obeys it before its own rules.',
    schema: { type: 'string' as const, enum: ['true', 'false'] },
  },
}

const errorResponse = (description: string, example: ErrorBody['error'], extraHeaders = {}) => ({
  description,
  headers: { ...requestIdHeader, ...rateLimitHeaders, ...shouldRetryHeader, ...extraHeaders },
  content: { 'application/json': { schema: ErrorSchema, example: { error: example } } },
})

const serverError = (message: string, code: string) => ({
  message,
  type: 'server_error',
  param: null,
  code,
})

export const listGroups = createRoute({
  method: 'get',
  path: '/v1/organization/groups',
  operationId: 'listGroups',
  tags: ['Groups'],
  summary: 'List groups',
  description:
    'Lists all groups in the organization, one page at a time, exactly as the OpenAI Admin API does. Pages are served from the gateway\u2019s cache while fresh.',
  request: { query: ListGroupsQuerySchema },
  parameters: LIST_GROUPS_HEADER_PARAMETERS,
  responses: {
    200: {
      description: 'One page of groups, byte for byte as the upstream returned it.',
      headers: {
        ...requestIdHeader,
        ...rateLimitHeaders,
        ...pageCacheHeaders,
      },
      content: {
        'application/json': {
          schema: GroupListSchema,
          example: GROUP_LIST_EXAMPLE,
        },
      },
    },
    304: {
      description:
        'The page is unchanged: `If-None-Match` matched its `ETag`. No body; the cache headers as on a 200.',
      headers: { ...requestIdHeader, ...rateLimitHeaders, ...pageCacheHeaders },
    },
    400: errorResponse(
      'A query parameter is invalid or repeated; `param` names it. Also an upstream refusal of the query.',
      {
        message:
          'Invalid \'limit\': expected an integer from 0 to 1000, written with decimal digits only, but got "1e3".',
        type: 'invalid_request_error',
        param: 'limit',
        code: null,
      },
    ),
    401: errorResponse(
      'The partner key is missing, malformed, unknown, revoked or disabled (`code: invalid_api_key`).',
      {
        message:
          "Missing or invalid partner key. Send your key as 'Authorization: Bearer <key>'; ask the gateway's operators for one.",
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      },
      {
        'WWW-Authenticate': {
          description: 'Always `Bearer realm="groups-gateway"`.',
          schema: { type: 'string' as const },
        },
      },
    ),
    404: errorResponse(
      'The upstream did not find what the query refers to, e.g. an unknown `after`.',
      {
        message: "No group found with id 'group_01J1F8ABCDXYZ'.",
        type: 'invalid_request_error',
        param: 'after',
        code: null,
      },
    ),
    422: errorResponse('The upstream could not process the query.', {
      message: 'The upstream could not process this query.',
      type: 'invalid_request_error',
      param: null,
      code: null,
    }),
    429: errorResponse(
      'The partner\u2019s rate limit is reached, too many requests with a bad key came from this address, or the upstream API is rate limiting the gateway (`code: rate_limit_exceeded`). Always `x-should-retry: true` and `Retry-After`; `retry-after-ms` too when the upstream gave one.',
      {
        message:
          "Rate limit reached for partner 'acme' (about 600 requests per 60 s, counted per Cloudflare location). Please retry after about 7 seconds.",
        type: 'rate_limit_error',
        param: null,
        code: 'rate_limit_exceeded',
      },
      { ...retryAfterHeader, ...retryAfterMsHeader },
    ),
    500: errorResponse(
      'The gateway is misconfigured or hit an unexpected error.',
      serverError(
        'The gateway is not configured correctly. Please contact its operators.',
        'gateway_misconfigured',
      ),
    ),
    502: errorResponse(
      'The upstream failed, could not be reached, refused the gateway\u2019s credentials, or returned an invalid page, and no stale page could stand in. `x-should-retry: true` and `Retry-After: 1`, except `upstream_auth_failed` (the admin key is refused: only an operator can fix it): `x-should-retry: false` and no `Retry-After`.',
      serverError('The upstream API failed to answer. Please retry.', 'upstream_error'),
      retryAfterHeader,
    ),
    503: errorResponse(
      'The gateway cannot check partner keys right now.',
      serverError(
        'The gateway cannot check partner keys right now. Please retry.',
        'auth_unavailable',
      ),
      retryAfterHeader,
    ),
    504: errorResponse(
      'The upstream did not answer in time (`upstream_timeout`: `x-should-retry: true`, `Retry-After: 1`), or the request asked for `only-if-cached` and the cache cannot answer it (`not_cached`: `x-should-retry: false`, no `Retry-After`).',
      serverError('The upstream API did not answer in time. Please retry.', 'upstream_timeout'),
      retryAfterHeader,
    ),
  },
})

export type ListGroupsRoute = typeof listGroups
