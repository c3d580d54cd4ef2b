import { createRoute } from '@hono/zod-openapi'
import { errorSpecs } from '../error-catalogue'
import { errorResponses, header, onFirstUse } from '../http/openapi'
import { GROUP_LIST_EXAMPLE, GroupListSchema, ListGroupsQuerySchema } from '../upstream/schemas'

/**
 * A request header the route reads: not validated (an unknown directive or tag matches nothing),
 * and no `example`, which Swagger UI would pre-fill, so every "Try it out" would bypass the cache.
 */
function headerParameter(name: string, description: string) {
  return { name, in: 'header', required: false, description, schema: { type: 'string' } } as const
}

/** The route's answers in the contract: built on first use (see `onFirstUse`). */
function responses() {
  /** What every answer of the route carries: the request id and the partner's rate limit. */
  const always = {
    'x-request-id': header(
      'Identifies this request in the gateway\u2019s logs; quote it when reporting a problem.',
    ),
    'RateLimit-Policy': header(
      'The partner\u2019s quota (IETF RateLimit header fields), e.g. `"standard";q=600;w=60`: about `q` requests per `w` seconds. Counted per Cloudflare location by the platform\u2019s rate limiting, which is approximate and eventually consistent: not an exact accounting.',
    ),
    RateLimit: header(
      'Where the partner stands, e.g. `"standard";r=598;t=42`: `r` requests left and `t` seconds until the window resets, both the gateway\u2019s estimate (the platform does not say how its windows align); `t` is never more than one period.',
    ),
  }

  const pageHeaders = {
    ...always,
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

  const routeErrors = Object.values(errorSpecs()).filter((e) => !e.offRoute)
  return {
    200: {
      description: 'One page of groups, byte for byte as the upstream returned it.',
      headers: pageHeaders,
      content: { 'application/json': { schema: GroupListSchema, example: GROUP_LIST_EXAMPLE } },
    },
    304: {
      description:
        'The page is unchanged: `If-None-Match` matched its `ETag`. No body; the cache headers as on a 200.',
      headers: pageHeaders,
    },
    ...errorResponses(routeErrors, always),
  }
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
  parameters: [
    headerParameter(
      'if-none-match',
      'An `ETag` from an earlier page, e.g. `"bXlfZXRhZ19leGFtcGxlXzE"`: if the page is unchanged, the answer is 304.',
    ),
    headerParameter(
      'cache-control',
      '`no-cache` (or `max-age=0`) fetches the page from the upstream and stores it; `only-if-cached` answers from the cache or with 504.',
    ),
  ],
  responses: onFirstUse(responses),
})
