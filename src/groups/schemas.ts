import { z } from '@hono/zod-openapi'

export const LIMIT_MIN = 0
export const LIMIT_MAX = 1000
export const LIMIT_DEFAULT = 100
export const ORDER_DEFAULT = 'asc'
export const AFTER_PATTERN = /^[A-Za-z0-9_-]{1,128}$/

export const GroupSchema = z
  .object({
    object: z.literal('group').openapi({ description: 'The object type, always `group`.' }),
    id: z.string().min(1).openapi({ description: 'Identifier for the group.' }),
    name: z.string().openapi({ description: 'Display name of the group.' }),
    created_at: z.number().int().openapi({
      description: 'Unix timestamp (in seconds) when the group was created.',
      format: 'unixtime',
    }),
    is_scim_managed: z.boolean().openapi({
      description:
        'Whether the group is managed through SCIM and controlled by your identity provider.',
    }),
    group_type: z.string().openapi({
      description: 'The type of the group, e.g. `group` or `tenant_group`.',
      example: 'group',
    }),
  })
  .openapi('Group', { description: 'Details about an organization group.' })

/** The reference page's example (with `group_type`, which its example leaves out). */
export const GROUP_LIST_EXAMPLE = {
  object: 'list' as const,
  data: [
    {
      object: 'group' as const,
      id: 'group_01J1F8ABCDXYZ',
      name: 'Support Team',
      created_at: 1711471533,
      is_scim_managed: false,
      group_type: 'group',
    },
  ],
  has_more: false,
  next: null,
}

export const GroupListSchema = z
  .object({
    object: z.literal('list').openapi({ description: 'The object type, always `list`.' }),
    data: z.array(GroupSchema).openapi({ description: 'The groups on this page.' }),
    has_more: z
      .boolean()
      .openapi({ description: 'Whether more groups follow this page in the chosen order.' }),
    next: z.string().nullable().openapi({
      description: 'The cursor for the next page: pass it as `after`. `null` on the last page.',
    }),
  })
  .openapi('GroupList', {
    description: 'One page of the organization\u2019s groups.',
    example: GROUP_LIST_EXAMPLE,
  })

export type GroupList = z.infer<typeof GroupListSchema>

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

/** The query with defaults filled in: what is forwarded upstream and what keys the cache. */
export interface NormalizedQuery {
  after: string | null
  limit: number
  order: 'asc' | 'desc'
}

export function normalizeQuery(q: z.infer<typeof ListGroupsQuerySchema>): NormalizedQuery {
  return {
    after: q.after ?? null,
    limit: q.limit ?? LIMIT_DEFAULT,
    order: q.order ?? ORDER_DEFAULT,
  }
}

/** The upstream query string for a normalized query: a fixed order, only known parameters. */
export function toSearchParams(q: NormalizedQuery): URLSearchParams {
  const params = new URLSearchParams()
  if (q.after !== null) params.set('after', q.after)
  params.set('limit', String(q.limit))
  params.set('order', q.order)
  return params
}

/** The request headers the route reads; anything else is ignored. */
export const ListGroupsHeadersSchema = z.object({
  'if-none-match': z
    .string()
    .optional()
    .openapi({
      param: { name: 'if-none-match', in: 'header' },
      description: 'An `ETag` from an earlier page: if the page is unchanged, the answer is 304.',
      example: '"bXlfZXRhZ19leGFtcGxlXzE"',
    }),
  'cache-control': z
    .string()
    .optional()
    .openapi({
      param: { name: 'cache-control', in: 'header' },
      description:
        '`no-cache` (or `max-age=0`) fetches the page from the upstream and stores it; `only-if-cached` answers from the cache or with 504.',
      example: 'no-cache',
    }),
})
