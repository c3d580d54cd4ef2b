import { describe, expect, it } from 'vitest'
import { PartnerLimiter } from '../../src/partners/limiter'
import { TIERS } from '../../src/partners/model'
import { call, createGateway, createPartner, logs, upstream, withinOneWindow } from '../helpers'

const PATH = '/v1/organization/groups?limit=5'

/**
 * The limiter as in production, but waiting as long as it takes for Miniflare's binding (a Durable
 * Object with SQLite, far slower than the platform's on-machine counters): every decision below is
 * the binding's, none a fail-open.
 */
const patient = () => new PartnerLimiter(30_000)

/** Sends `count` requests at once through one gateway (one isolate) and tallies the statuses. */
async function burst(count: number, key: string, app = createGateway({ limiter: patient() })) {
  const statuses = await Promise.all(
    Array.from({ length: count }, () => call(PATH, { app, key }).then((r) => r.status)),
  )
  return {
    ok: statuses.filter((s) => s === 200).length,
    refused: statuses.filter((s) => s === 429).length,
  }
}

describe('partner limits under real traffic', () => {
  it.each([
    ['standard', 600],
    ['elevated', 400],
  ] as const)(
    'never refuses a %s partner a simultaneous burst within its quota',
    async (tier, count) => {
      await call(PATH) // the page is cached by another partner first
      const key = await createPartner(`burst-${tier}-${crypto.randomUUID()}`, { tier })
      const result = await burst(Math.min(count, TIERS[tier].limit), key)
      expect(result).toEqual({ ok: Math.min(count, TIERS[tier].limit), refused: 0 })
      expect(logs.filter((l) => l.includes('rate_limiter_failed'))).toEqual([])
    },
    60_000,
  )

  it('refuses the request past the quota in the same window, and only that', async () => {
    await call(PATH)
    const { result, over } = await withinOneWindow(60, async () => {
      const key = await createPartner(`quota-${crypto.randomUUID()}`)
      const app = createGateway({ limiter: patient() })
      const result = await burst(600, key, app)
      return { result, over: await call(PATH, { app, key }) }
    })
    expect(result).toEqual({ ok: 600, refused: 0 })
    expect(over.status).toBe(429)
    const retryAfter = Number(over.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60 - (Math.floor(Date.now() / 1000) % 60) + 1)
    expect(over.headers.get('ratelimit')).toBe(`"standard";r=0;t=${retryAfter}`)
  }, 60_000)

  it('holds the quota for traffic spread over 100 isolates in one location', async () => {
    await call(PATH)
    const { statuses, over } = await withinOneWindow(60, async () => {
      const key = await createPartner(`spread-${crypto.randomUUID()}`)
      // Each gateway is an isolate of its own: its own memory, lookups and counts; one binding.
      const isolates = Array.from({ length: 100 }, () => createGateway({ limiter: patient() }))
      const statuses = await Promise.all(
        isolates.flatMap((app) =>
          Array.from({ length: 6 }, () => call(PATH, { app, key }).then((r) => r.status)),
        ),
      )
      const over = await call(PATH, { app: createGateway({ limiter: patient() }), key })
      return { statuses, over }
    })
    expect(statuses.filter((s) => s === 200)).toHaveLength(600)
    expect(over.status).toBe(429)
    expect(logs.filter((l) => l.includes('rate_limiter_failed'))).toEqual([])
    // One upstream call for the page, however many isolates asked.
    expect(upstream.requests).toHaveLength(1)
  }, 60_000)
})
