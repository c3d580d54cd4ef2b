import { describe, expect, it } from 'vitest'
import { PartnerLimiter, rateLimited } from '../../src/partners/limiter'
import { TIERS } from '../../src/partners/model'
import { logs, scriptedRateLimit as scripted } from '../helpers'

const acme = { name: 'acme', tier: TIERS.standard }
/** The start of a clock-aligned 60 s window, plus `ms`. */
const inWindow = (ms: number) => Math.floor(Date.now() / 60_000) * 60_000 + ms

describe('the partner limiter', () => {
  it('asks the binding on every request, keyed by the partner name', async () => {
    const { binding, keys } = scripted([true])
    const limiter = new PartnerLimiter()
    for (let i = 0; i < 5; i++) {
      expect((await limiter.check(acme, binding, Date.now(), `r${i}`)).allowed).toBe(true)
    }
    expect(keys).toEqual(['acme', 'acme', 'acme', 'acme', 'acme'])
  })

  it('refuses only while the binding refuses', async () => {
    const { binding } = scripted([true, false, false, true, true])
    const limiter = new PartnerLimiter()
    const allowed: boolean[] = []
    for (let i = 0; i < 5; i++) {
      allowed.push((await limiter.check(acme, binding, Date.now(), 'r')).allowed)
    }
    expect(allowed).toEqual([true, false, false, true, true])
  })

  it('counts what is left in the clock-aligned window, and starts afresh with the next', async () => {
    const { binding } = scripted([true])
    const limiter = new PartnerLimiter()
    const first = await limiter.check(acme, binding, inWindow(1_000), 'r')
    expect(first).toEqual({ allowed: true, remaining: 599, reset: 59 })
    expect(await limiter.check(acme, binding, inWindow(30_500), 'r')).toEqual({
      allowed: true,
      remaining: 598,
      reset: 30,
    })
    expect((await limiter.check(acme, binding, inWindow(61_000), 'r')).remaining).toBe(599)
  })

  it('promises no wait past the end of the window, and keeps counts per tier', async () => {
    const limiter = new PartnerLimiter()
    const refused = await limiter.check(acme, scripted([false]).binding, inWindow(59_800), 'r')
    expect(refused).toEqual({ allowed: false, remaining: 0, reset: 1 })
    const error = rateLimited(acme, refused)
    expect(error.status).toBe(429)
    expect(error.headers['Retry-After']).toBe('1')
    expect(error.body.error.message).toMatch(/retry after about 1 second\.$/)

    const elevated = { name: 'acme', tier: TIERS.elevated }
    const moved = await limiter.check(elevated, scripted([true]).binding, inWindow(59_800), 'r')
    expect(moved.remaining).toBe(5999)
  })

  it('fails open with a log line when the binding throws', async () => {
    const limiter = new PartnerLimiter()
    const decision = await limiter.check(acme, scripted(['throw']).binding, Date.now(), 'req-1')
    expect(decision.allowed).toBe(true)
    const line = JSON.parse(logs.find((l) => l.includes('rate_limiter_failed')) as string)
    expect(line).toMatchObject({
      level: 'warn',
      requestId: 'req-1',
      partner: 'acme',
      error: 'rate limiter unavailable',
    })
  })

  it('fails open, with a log line, when the binding has not answered within its timeout', async () => {
    // The binding never answers; a 5 ms timeout here (LIMITER_TIMEOUT_MS, 100 ms, in production).
    const limiter = new PartnerLimiter(5)
    const hanging = scripted(['hang'])
    const decision = await limiter.check(acme, hanging.binding, Date.now(), 'req-2')
    expect(decision.allowed).toBe(true)
    expect(hanging.keys).toEqual(['acme'])
    const line = JSON.parse(logs.find((l) => l.includes('rate_limiter_failed')) as string)
    expect(line).toMatchObject({
      level: 'warn',
      requestId: 'req-2',
      partner: 'acme',
      error: 'no answer within 5 ms',
    })
  })
})
