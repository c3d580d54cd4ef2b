import OpenAI from 'openai'
import { describe, expect, it, vi } from 'vitest'
import { dispatch, partner, upstream } from '../helpers'

/** Requests the SDK made of the gateway in the current test. */
let seen: Request[] = []

/** The official SDK, pointed at the gateway: its requests reach the worker, never the network. */
function sdk(options: { key?: string; maxRetries?: number } = {}) {
  seen = []
  return new OpenAI({
    // The partner key goes where the SDK puts an admin key; the gateway holds the real one.
    adminAPIKey: options.key ?? partner.key,
    baseURL: 'https://gateway.test/v1',
    maxRetries: options.maxRetries ?? 0,
    fetch: (url, init) => {
      const request = new Request(url, init)
      seen.push(request)
      return dispatch(request)
    },
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

  it('sees a bad key as AuthenticationError', async () => {
    const err = await sdk({ key: `gwp_${'x'.repeat(43)}` })
      .admin.organization.groups.list()
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError)
    expect((err as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key')
  })

  it('retries a 429 by itself once, after the gateway’s retry-after-ms rather than its own backoff', async () => {
    upstream.sim.setFault({ kind: 'rate_limit', retryAfterMs: '40', count: 1 })
    // The SDK sleeps with setTimeout: its own backoff would be 375-500 ms for a first retry.
    const timers = vi.spyOn(globalThis, 'setTimeout')
    const page = await sdk({ maxRetries: 2 }).admin.organization.groups.list({ limit: 3 })
    expect(page.data).toHaveLength(3)
    // One refused, one retried.
    expect(seen).toHaveLength(2)
    expect(seen[1]?.headers.get('x-stainless-retry-count')).toBe('1')
    const waits = timers.mock.calls.map(([, ms]) => ms)
    expect(waits).toContain(40)
    expect(waits.filter((ms) => ms !== undefined && ms >= 375 && ms <= 500)).toEqual([])
  })

  it('does not retry a 404, which the gateway says cannot succeed', async () => {
    const err = await sdk({ maxRetries: 2 })
      .admin.organization.groups.list({ after: 'group_unknown' })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.NotFoundError)
    expect(seen).toHaveLength(1)
  })
})
