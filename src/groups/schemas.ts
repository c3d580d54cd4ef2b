import { z } from '@hono/zod-openapi'

import {
  AFTER_PATTERN,
  LIMIT_DEFAULT,
  LIMIT_MAX,
  LIMIT_MIN,
  ORDER_DEFAULT,
  type PageQuery,
} from '../upstream/query'

/**
 * The query as the upstream accepts it. Each parameter is a plain string so that a repeated
 * parameter (which the validator hands over as an array) is refused rather than silently merged.
 */
export const ListGroupsQuerySchema = z.object({
  after: z
    .string()
    .regex(AFTER_PATTERN)
    .optional()
    .openapi({
      param: { name: 'after', in: 'query' },
      description:
        'A cursor for use in pagination. `after` is a group ID that defines your place in the list: pass the `next` value of the previous page to fetch the page after it.',
      type: 'string',
      minLength: 1,
      maxLength: 128,
      // No example: Swagger UI would send it from "Try it out", and an unknown cursor is a 404.
      pattern: AFTER_PATTERN.source,
    }),
  limit: z
    .string()
    .regex(/^\d+$/)
    .transform(Number)
    .pipe(z.number().int().min(LIMIT_MIN).max(LIMIT_MAX))
    .optional()
    .openapi({
      param: { name: 'limit', in: 'query' },
      description: `A limit on the number of groups to be returned. Limit can range between ${LIMIT_MIN} and ${LIMIT_MAX}, and the default is ${LIMIT_DEFAULT}. Decimal digits only.`,
      type: 'integer',
      minimum: LIMIT_MIN,
      maximum: LIMIT_MAX,
      default: LIMIT_DEFAULT,
      example: 100,
    }),
  order: z
    .enum(['asc', 'desc'])
    .optional()
    .openapi({
      param: { name: 'order', in: 'query' },
      description: 'Specifies the sort order of the returned groups, by creation time.',
      default: ORDER_DEFAULT,
      example: 'asc',
    }),
})

/** Fills in the defaults of a validated query. */
export function normalizeQuery(q: z.infer<typeof ListGroupsQuerySchema>): PageQuery {
  return {
    after: q.after ?? null,
    limit: q.limit ?? LIMIT_DEFAULT,
    order: q.order ?? ORDER_DEFAULT,
  }
}

/**
 * The request headers the route reads, for the contract. No `example`: Swagger UI would pre-fill it
 * in "Try it out", and every click would then bypass the cache. Documented but not validated:
 * any value is acceptable (an unknown directive or tag simply matches nothing), so validating them
 * would cost every request and refuse none.
 */
export const LIST_GROUPS_HEADER_PARAMETERS = [
  {
    name: 'if-none-match',
    in: 'header' as const,
    required: false,
    description:
      'An `ETag` from an earlier page, e.g. `"bXlfZXRhZ19leGFtcGxlXzE"`: if the page is unchanged, the answer is 304.',
    schema: { type: 'string' as const },
  },
  {
    name: 'cache-control',
    in: 'header' as const,
    required: false,
    description:
      '`no-cache` (or `max-age=0`) fetches the page from the upstream and stores it; `only-if-cached` answers from the cache or with 504.',
    schema: { type: 'string' as const },
  },
]
