import { z } from '@hono/zod-openapi'

/** The upstream's own shapes: the gateway validates every page against them and serves them as its contract. */
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
