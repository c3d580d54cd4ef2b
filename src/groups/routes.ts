import { createRoute } from '@hono/zod-openapi'
import { ErrorSchema } from '../errors'
import { GroupListSchema, ListGroupsQuerySchema } from './schemas'

const requestIdHeader = {
  'x-request-id': {
    description:
      'Identifies this request in the gateway\u2019s logs; quote it when reporting a problem.',
    schema: { type: 'string' as const },
  },
}

const errorResponse = (description: string, extraHeaders = {}) => ({
  description,
  headers: { ...requestIdHeader, ...extraHeaders },
  content: { 'application/json': { schema: ErrorSchema } },
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
  responses: {
    200: {
      description: 'One page of groups, byte for byte as the upstream returned it.',
      headers: {
        ...requestIdHeader,
        'Cache-Status': {
          description:
            'What the gateway\u2019s cache did (RFC 9211), e.g. `groups-gateway; hit` or `groups-gateway; fwd=uri-miss; stored`.',
          schema: { type: 'string' as const },
        },
        'Cache-Control': {
          description: 'Always `private`, with `max-age` the seconds this page stays fresh.',
          schema: { type: 'string' as const },
        },
        Age: {
          description: 'Seconds since the gateway fetched this page from the upstream.',
          schema: { type: 'integer' as const, minimum: 0 },
        },
      },
      content: { 'application/json': { schema: GroupListSchema } },
    },
    400: errorResponse(
      'A query parameter is invalid or repeated; `param` names it. Also an upstream refusal of the query.',
    ),
    404: errorResponse(
      'The upstream did not find what the query refers to, e.g. an unknown `after`.',
    ),
    422: errorResponse('The upstream could not process the query.'),
    429: errorResponse('The upstream API is rate limiting the gateway.', {
      'Retry-After': {
        description: 'Seconds to wait before retrying.',
        schema: { type: 'integer' as const, minimum: 1 },
      },
    }),
    500: errorResponse('The gateway is misconfigured or hit an unexpected error.'),
    502: errorResponse(
      'The upstream failed, could not be reached, refused the gateway\u2019s credentials, or returned an invalid page.',
    ),
    504: errorResponse('The upstream did not answer in time.'),
  },
})

export type ListGroupsRoute = typeof listGroups
