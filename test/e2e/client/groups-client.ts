// What a partner writes with a client generated from openapi/openapi.json (see README, "Generated
// clients"). The e2e suite regenerates `../.generated/groups-api.d.ts` and type-checks this file
// against it with tsc before running it, so a contract change that breaks clients fails the tests.
import createClient from 'openapi-fetch'
import type { components, paths } from '../.generated/groups-api'

export type Group = components['schemas']['Group']
export type ApiError = components['schemas']['Error']
export type GroupsClient = ReturnType<typeof createGroupsClient>

export function createGroupsClient(baseUrl: string, partnerKey: string) {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${partnerKey}` } })
}

/** Follows `next` from page to page until `has_more` is false. */
export async function listAllGroups(
  client: GroupsClient,
  order: 'asc' | 'desc',
  limit: number,
): Promise<Group[]> {
  const groups: Group[] = []
  let after: string | undefined
  for (;;) {
    const { data, error, response } = await client.GET('/v1/organization/groups', {
      params: { query: { limit, order, after } },
    })
    if (error) throw new Error(`${response.status}: ${error.error.message}`)
    groups.push(...data.data)
    if (!data.has_more || data.next === null) return groups
    after = data.next
  }
}

/** A refused query: the error body is typed as the contract's `Error` schema. */
export async function refusedQuery(
  client: GroupsClient,
): Promise<{ status: number; error: ApiError | undefined }> {
  const { error, response } = await client.GET('/v1/organization/groups', {
    params: { query: { limit: 5000 } },
  })
  const typed: ApiError | undefined = error
  return { status: response.status, error: typed }
}
