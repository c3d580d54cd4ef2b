import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { dispatch, partner, upstream } from '../helpers'

/** The official SDK, pointed at the gateway: its requests reach the worker, never the network. */
function sdk() {
  return new OpenAI({
    // The partner key goes where the SDK puts an admin key; the gateway holds the real one.
    adminAPIKey: partner.key,
    baseURL: 'https://gateway.test/v1',
    maxRetries: 0,
    fetch: (url, init) => dispatch(new Request(url, init)),
  })
}

describe('the official openai SDK through the gateway', () => {
  it.each([
    [1000, 'asc'],
    [100, 'desc'],
    [333, 'asc'],
    [97, 'desc'],
  ] as const)('pages through every group with limit %i, order %s', async (limit, order) => {
    const ids: string[] = []
    for await (const group of sdk().admin.organization.groups.list({ limit, order })) {
      ids.push(group.id)
    }
    const expected = upstream.sim.groups.map((g) => g.id)
    expect(ids).toEqual(order === 'asc' ? expected : [...expected].reverse())
  })

  it('sees a gateway 400 as BadRequestError with its param', async () => {
    const err = await sdk()
      .admin.organization.groups.list({ limit: 5000 })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('limit')
  })

  it('reads a page with its typed fields', async () => {
    const page = await sdk().admin.organization.groups.list({ limit: 2 })
    expect(page.data).toHaveLength(2)
    expect(page.data[0]).toMatchObject({ object: 'group', id: expect.stringMatching(/^group_/) })
    expect(page.has_more).toBe(true)
  })
})
