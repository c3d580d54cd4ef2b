import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { createGateway } from '../../src/gateway'
import { call, createPartner, logs, partner, upstream } from '../helpers'

const PATH = '/v1/organization/groups?limit=3&order=desc'
const VARYING = ['x-request-id', 'ratelimit', 'date', 'cache-status']

function headerMap(res: Response): Record<string, string> {
  return Object.fromEntries([...res.headers].filter(([name]) => !VARYING.includes(name)))
}

describe('the hot path', () => {
  it('answers a repeat exactly as the full pipeline does, without it', async () => {
    const gateway = createGateway()
    const slowPath = vi.spyOn(gateway.app, 'fetch')
    // The first request learns the query, the partner, the page, the headers and a lease.
    const full = await call(PATH, { app: gateway })
    const hot = await call(PATH, { app: gateway })
    expect(slowPath).toHaveBeenCalledTimes(1)
    // The hit from memory differs from the miss only in what a hit says.
    for (const res of [full, hot]) expect(res.headers.get('cache-status')).toBeTruthy()
    expect(hot.status).toBe(200)
    expect(headerMap(hot)).toEqual(headerMap(full))
    expect(await hot.text()).toBe(await full.text())
    expect(hot.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(hot.headers.get('ratelimit')).toMatch(/^"standard";r=598;t=\d+$/)
    const lines = logs.filter((l) => l.includes('"event":"request"')).map((l) => JSON.parse(l))
    expect(lines).toHaveLength(2)
    expect(lines[1]).toMatchObject({
      partner: partner.name,
      route: '/v1/organization/groups',
      status: 200,
      cache: expect.stringMatching(/^groups-gateway; hit; ttl=/),
    })
    expect(upstream.requests).toHaveLength(1)
  })

  it.each([
    ['a new query', '/v1/organization/groups?limit=4', {}],
    ['a conditional request', PATH, { 'if-none-match': '"x"' }],
    ['a no-cache request', PATH, { 'cache-control': 'no-cache' }],
    ['a CORS request', PATH, { origin: 'https://partner.example' }],
    ['an unknown key', PATH, { authorization: `Bearer gwp_${'Z'.repeat(43)}` }],
    ['no key', PATH, { authorization: '' }],
  ])('leaves %s to the full pipeline', async (_, path, headers) => {
    const gateway = createGateway()
    await call(PATH, { app: gateway })
    await call(PATH, { app: gateway })
    const slowPath = vi.spyOn(gateway.app, 'fetch')
    await call(path, { app: gateway, init: { headers } })
    expect(slowPath).toHaveBeenCalledTimes(1)
  })

  it('leaves a stale page to the full pipeline', async () => {
    let t = Date.now()
    const gateway = createGateway({ now: () => t })
    await call(PATH, { app: gateway })
    t += 61_000
    const slowPath = vi.spyOn(gateway.app, 'fetch')
    const res = await call(PATH, { app: gateway })
    expect(slowPath).toHaveBeenCalledTimes(1)
    expect(res.headers.get('cache-status')).toMatch(/stale-while-revalidate/)
  })

  it('asks the rate limiter once per lease, and still stops a partner at its limit', async () => {
    let calls = 0
    const counting = {
      ...env,
      RATE_LIMIT_STANDARD: {
        limit: (options: RateLimitOptions) => {
          calls++
          return env.RATE_LIMIT_STANDARD.limit(options)
        },
      },
    }
    const gateway = createGateway()
    for (let i = 0; i < 25; i++) {
      expect((await call(PATH, { app: gateway, env: counting })).status).toBe(200)
    }
    // Standard leases 10 requests per permit.
    expect(calls).toBe(3)

    const key = await createPartner('restricted-hot', { tier: 'restricted' })
    const statuses: number[] = []
    const left = 10_000 - (Date.now() % 10_000)
    if (left < 3_000) await new Promise((r) => setTimeout(r, left + 20))
    for (let i = 0; i < 12; i++) statuses.push((await call(PATH, { app: gateway, key })).status)
    expect(statuses).toEqual([...Array(10).fill(200), 429, 429])
  }, 20_000)

  it('does not remember queries padded with unknown parameters', async () => {
    const gateway = createGateway()
    const padded = `${PATH}&pad=${'x'.repeat(300)}`
    await call(padded, { app: gateway })
    const slowPath = vi.spyOn(gateway.app, 'fetch')
    await call(padded, { app: gateway })
    expect(slowPath).toHaveBeenCalledTimes(1)
  })
})
