import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import openapiTS, { astToString } from 'openapi-typescript'
import { beforeAll, describe, expect, inject, it } from 'vitest'

const GENERATED = 'test/e2e/.generated/groups-api.d.ts'
const CLIENT = 'test/e2e/client/groups-client.ts'

/**
 * The client module's shape as this file uses it. It is loaded by path, so the project's own
 * typecheck does not need the generated types; the test type-checks the client itself.
 */
interface ClientModule {
  createGroupsClient(baseUrl: string, partnerKey: string): unknown
  listAllGroups(
    client: unknown,
    order: 'asc' | 'desc',
    limit: number,
  ): Promise<{ id: string; created_at: number }[]>
  refusedQuery(client: unknown): Promise<{ status: number; error?: { error: unknown } }>
}
let client: ClientModule

describe('a client generated from openapi/openapi.json', () => {
  beforeAll(async () => {
    // Generate, as a partner would: `npx openapi-typescript openapi/openapi.json -o ...`.
    const ast = await openapiTS(JSON.parse(readFileSync('openapi/openapi.json', 'utf8')))
    mkdirSync('test/e2e/.generated', { recursive: true })
    writeFileSync(GENERATED, astToString(ast))
    client = (await import(/* @vite-ignore */ `../../${CLIENT}`)) as ClientModule
  })

  it('type-checks against the generated types with tsc', () => {
    const tsc = spawnSync('tsc', ['-p', 'test/e2e/client/tsconfig.json'], { encoding: 'utf8' })
    expect(tsc.stdout + tsc.stderr).toBe('')
    expect(tsc.status).toBe(0)
    expect(readFileSync(GENERATED, 'utf8')).toContain('"/v1/organization/groups"')
  })

  it.each([
    ['asc', 1000],
    ['desc', 250],
  ] as const)('pages through every group, order %s, limit %i', async (order, limit) => {
    const api = client.createGroupsClient(inject('gatewayUrl'), inject('partnerKey'))
    const groups = await client.listAllGroups(api, order, limit)
    expect(groups).toHaveLength(inject('groupCount'))
    expect(new Set(groups.map((g) => g.id)).size).toBe(inject('groupCount'))
    const times = groups.map((g) => g.created_at)
    const sorted = [...times].sort((a, b) => (order === 'asc' ? a - b : b - a))
    expect(times).toEqual(sorted)
  })

  it('gets an error response typed as the Error schema', async () => {
    const api = client.createGroupsClient(inject('gatewayUrl'), inject('partnerKey'))
    const { status, error } = await client.refusedQuery(api)
    expect(status).toBe(400)
    expect(error?.error).toMatchObject({
      type: 'invalid_request_error',
      param: 'limit',
      code: null,
    })
  })
})
