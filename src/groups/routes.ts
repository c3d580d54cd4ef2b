import { createRoute } from '@hono/zod-openapi'
import { ERRORS, type ErrorSpec } from '../errors'
import { errorResponse, type Headers, header } from '../http/openapi'
import { GROUP_LIST_EXAMPLE, GroupListSchema } from '../upstream/schemas'
import { LIST_GROUPS_HEADER_PARAMETERS, ListGroupsQuerySchema } from './schemas'

const requestIdHeader = {
  'x-request-id': header(
    'Identifies this request in the gateway\u2019s logs; quote it when reporting a problem.',
  ),
}

const rateLimitHeaders = {
  'RateLimit-Policy': header(
    'The partner\u2019s quota (IETF RateLimit header fields), e.g. `"standard";q=600;w=60`: about `q` requests per `w` seconds. Counted per Cloudflare location by the platform\u2019s rate limiting, which is approximate and eventually consistent: not an exact accounting.',
  ),
  RateLimit: header(
    'Where the partner stands, e.g. `"standard";r=598;t=42`: `r` requests left and `t` seconds until the window resets, both the gateway\u2019s estimate (the platform does not say how its windows align); `t` is never more than one period.',
  ),
}

const pageCacheHeaders = {
  'Cache-Status': header(
    'What the gateway\u2019s cache did (RFC 9211): `hit`, `fwd=uri-miss`, `fwd=stale`, `fwd=request`, `fwd-status`, `stored`, `collapsed`, `ttl` (seconds of freshness left, negative when stale) and `detail=stale-while-revalidate`, `detail=stale-if-error` or `detail=failure-shared` (an upstream failure of moments ago answered again, without a new call), e.g. `groups-gateway; hit; ttl=42`.',
  ),
  'Cache-Control': header(
    'Always `private`, with `max-age` the page\u2019s whole freshness lifetime (`CACHE_TTL_SECONDS`); `Age` says how much of it is spent, so what is left is max-age - Age (RFC 9111).',
  ),
  Age: header('Seconds since the gateway fetched this page from the upstream.', {
    type: 'integer',
    minimum: 0,
  }),
  ETag: header('A strong validator of the page\u2019s bytes; send it back as `If-None-Match`.'),
}

/** The headers an error may carry. */
const ERROR_HEADERS = {
  'Retry-After': header('Seconds to wait before retrying.', { type: 'integer', minimum: 1 }),
  'retry-after-ms': header(
    'Milliseconds to wait, when the upstream said so precisely; the official SDK prefers it to `Retry-After`.',
    { type: 'integer', minimum: 0 },
  ),
  'x-should-retry': header(
    '`true` when retrying may succeed, `false` when it cannot; the official SDK obeys it before its own rules.',
    { type: 'string', enum: ['true', 'false'] },
  ),
}

/**
 * The route's error responses, from the catalogue: per status, each error's case in its words
 * and retry hints, the first one's body as the example.
 */
function errorResponses() {
  const byStatus = new Map<number, ErrorSpec[]>()
  for (const e of Object.values(ERRORS) as ErrorSpec[]) {
    if (!e.offRoute) byStatus.set(e.status, [...(byStatus.get(e.status) ?? []), e])
  }
  return Object.fromEntries(
    [...byStatus].map(([status, errors]) => {
      const [first] = errors as [ErrorSpec]
      const headers: Headers = { ...requestIdHeader, ...rateLimitHeaders }
      headers['x-should-retry'] = ERROR_HEADERS['x-should-retry']
      if (errors.some((e) => e.retryAfter !== null)) {
        headers['Retry-After'] = ERROR_HEADERS['Retry-After']
      }
      if (errors.some((e) => e.code === 'rate_limit_exceeded')) {
        headers['retry-after-ms'] = ERROR_HEADERS['retry-after-ms']
      }
      for (const [name, value] of Object.entries(first.headers ?? {})) {
        headers[name] = header(`Always \`${value}\`.`)
      }
      return [status, errorResponse(errors, headers)]
    }),
  )
}

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
      headers: { ...requestIdHeader, ...rateLimitHeaders, ...pageCacheHeaders },
      content: { 'application/json': { schema: GroupListSchema, example: GROUP_LIST_EXAMPLE } },
    },
    304: {
      description:
        'The page is unchanged: `If-None-Match` matched its `ETag`. No body; the cache headers as on a 200.',
      headers: { ...requestIdHeader, ...rateLimitHeaders, ...pageCacheHeaders },
    },
    ...errorResponses(),
  },
})

export type ListGroupsRoute = typeof listGroups
