import { z } from '@hono/zod-openapi'

/** The List groups query's bounds and defaults, as the upstream documents them. */
const LIMIT_MIN = 0
const LIMIT_MAX = 1000
const LIMIT_DEFAULT = 100
export const AFTER_PATTERN = /^[A-Za-z0-9_-]{1,128}$/

/** The query as the upstream takes it: strings, so a repeated parameter (an array) is refused. */
export const ListGroupsQuerySchema = z.object({
  after: z.string().regex(AFTER_PATTERN).optional().openapi({
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
    .default(LIMIT_DEFAULT)
    .openapi({
      description: `A limit on the number of groups to be returned. Limit can range between ${LIMIT_MIN} and ${LIMIT_MAX}, and the default is ${LIMIT_DEFAULT}. Decimal digits only.`,
      type: 'integer',
      minimum: LIMIT_MIN,
      maximum: LIMIT_MAX,
      default: LIMIT_DEFAULT,
      example: 100,
    }),
  order: z.enum(['asc', 'desc']).default('asc').openapi({
    description: 'Specifies the sort order of the returned groups, by creation time.',
    example: 'asc',
  }),
})

/** A List groups query with its defaults filled in, so equivalent requests share one page. */
export type PageQuery = Omit<z.output<typeof ListGroupsQuerySchema>, 'after'> & {
  after: string | null
}

/** The upstream's own shapes: every page is validated against them, and they are our contract. */
const GroupSchema = z
  .object({
    object: z.literal('group').describe('The object type, always `group`.'),
    id: z.string().min(1).describe('Identifier for the group.'),
    name: z.string().describe('Display name of the group.'),
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
    object: z.literal('list').describe('The object type, always `list`.'),
    data: z.array(GroupSchema).describe('The groups on this page.'),
    has_more: z.boolean().describe('Whether more groups follow this page in the chosen order.'),
    next: z
      .string()
      .nullable()
      .describe('The cursor for the next page: pass it as `after`. `null` on the last page.'),
  })
  .openapi('GroupList', {
    description: 'One page of the organization\u2019s groups.',
    example: GROUP_LIST_EXAMPLE,
  })

export type GroupList = z.infer<typeof GroupListSchema>

/** The upstream's error envelope, which the gateway answers in too. */
export const ErrorSchema = z
  .object({
    error: z
      .object({
        message: z.string().describe('A human-readable description of the error.'),
        type: z
          .string()
          .describe('The error category, e.g. `invalid_request_error` or `server_error`.'),
        param: z.string().nullable().describe('The request parameter the error is about, if any.'),
        code: z.string().nullable().describe('A machine-readable error code, if any.'),
      })
      .describe('Details of the error.'),
  })
  .openapi('Error', {
    description: 'The error envelope, identical in shape to the OpenAI API\u2019s.',
    example: {
      error: {
        message:
          'Invalid \'limit\': expected an integer from 0 to 1000 written with decimal digits only, but got "abc".',
        type: 'invalid_request_error',
        param: 'limit',
        code: null,
      },
    },
  })
