import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { createState } from '../../src/app'
import worker from '../../src/index'
import { GENERATION_KEY } from '../../src/pages/generation'
import { runPrewarm } from '../../src/prewarm/cron'
import { call, createGateway, createPartner, logs, upstream } from '../helpers'

const SECOND = 1000
/** Demand is sent on every request here, so each test sees it at once. */
const WITH_PREWARM = { ...env, PREWARM_FLUSH_SECONDS: '0', PREWARM_MAX_PAGES: '2' } as Env
const page = (limit: number) => `/v1/organization/groups?limit=${limit}`
/** A cursor the upstream does not know: it answers 404 about the query. */
const UNKNOWN = '/v1/organization/groups?after=g_no_such_group&limit=10'
const limitsAsked = () => upstream.requests.map((r) => new URL(r.url).searchParams.get('limit'))

/** Partners ask for three pages at t0: limit=3 three times, limit=4 twice, limit=5 once. */
async function demand(t0: number) {
  const app = createGateway({ now: () => t0 })
  for (const [limit, times] of [
    [3, 3],
    [4, 2],
    [5, 1],
  ] as const) {
    for (let i = 0; i < times; i++) await call(page(limit), { app, env: WITH_PREWARM })
  }
  upstream.requests.length = 0
}

/** One cron run at `t`, as the scheduled handler makes it, waiting for its background work. */
async function prewarmAt(t: number, vars: Partial<Env> = {}) {
  const ctx = createExecutionContext()
  const report = await runPrewarm(
    { ...WITH_PREWARM, ...vars } as Env,
    createState({ now: () => t }),
    (p) => ctx.waitUntil(p),
  )
  await waitOnExecutionContext(ctx)
  return report
}

describe('pre-warm', () => {
  it('refreshes the most asked-for pages before they leave stale-while-revalidate, within its budget', async () => {
    const t0 = Date.now()
    await demand(t0)
    // Past fresh (60 s) and stale-while-revalidate (300 s): a partner would wait on the upstream.
    const report = await prewarmAt(t0 + 400 * SECOND)
    expect(report).toEqual({
      refreshed: 2,
      skipped: { 'fresh-enough': 0, budget: 1, stopped: 0, refused: 0 },
      stopped: null,
      upstreamCalls: 2,
      candidates: 3,
    })
    expect(limitsAsked()).toEqual(['3', '4'])
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.event === 'prewarm')
    expect(line).toMatchObject({ level: 'info', refreshed: 2, upstreamCalls: 2 })

    // The partner comes back: an instant hit, and Cache-Status says it was refreshed ahead of demand.
    const res = await call(page(3), { env: WITH_PREWARM, now: () => t0 + 401 * SECOND })
    expect(res.headers.get('cache-status')).toBe('groups-gateway; hit; ttl=59; prewarmed')
    expect(upstream.requests).toHaveLength(2)
  })

  it('leaves pages that stay warm until its next run alone', async () => {
    const t0 = Date.now()
    await demand(t0)
    const report = await prewarmAt(t0 + 100 * SECOND)
    expect(report).toMatchObject({ refreshed: 0, skipped: { 'fresh-enough': 3 }, upstreamCalls: 0 })
    expect(upstream.requests).toHaveLength(0)
  })

  it('stops at the first upstream failure, one attempt only', async () => {
    const t0 = Date.now()
    await demand(t0)
    upstream.sim.setFault({ kind: 'status', status: 503 })
    const report = await prewarmAt(t0 + 400 * SECOND, { UPSTREAM_MAX_RETRIES: '2' } as Partial<Env>)
    expect(report).toMatchObject({
      refreshed: 0,
      stopped: 'upstream answered 502',
      upstreamCalls: 1,
    })
    expect(report?.skipped.stopped).toBe(2)
    expect(upstream.requests).toHaveLength(1)
  })

  it('skips a page whose query the upstream refuses, goes on, and never tries that page again', async () => {
    const t0 = Date.now()
    const app = createGateway({ now: () => t0 })
    for (let i = 0; i < 20; i++) {
      expect((await call(UNKNOWN, { app, env: WITH_PREWARM })).status).toBe(404)
    }
    await demand(t0)
    const four = { PREWARM_MAX_PAGES: '4' } as Partial<Env>

    // The unknown cursor ranks first: its 404 is about the query, not an upstream failure.
    const report = await prewarmAt(t0 + 400 * SECOND, four)
    expect(report).toEqual({
      refreshed: 3,
      skipped: { 'fresh-enough': 0, budget: 0, stopped: 0, refused: 1 },
      stopped: null,
      upstreamCalls: 4,
      candidates: 4,
    })
    expect(limitsAsked()).toEqual(['10', '3', '4', '5'])

    // Partners keep asking for it; the pages it refreshed go stale again; it is not tried again.
    for (let i = 0; i < 5; i++) await call(UNKNOWN, { app, env: WITH_PREWARM })
    upstream.requests.length = 0
    const later = await prewarmAt(t0 + 800 * SECOND, four)
    expect(later).toMatchObject({ refreshed: 3, skipped: { refused: 0 }, candidates: 3 })
    expect(upstream.requests.map((r) => new URL(r.url).searchParams.get('after'))).toEqual([
      null,
      null,
      null,
    ])
  })

  it('shares its budget between the partners asking: one partner cannot take it all', async () => {
    const t0 = Date.now()
    const app = createGateway({ now: () => t0 })
    const heavy = await createPartner(`heavy-${crypto.randomUUID().slice(0, 8)}`)
    // One partner asks for 30 pages six times each; another for its 3 pages five times each.
    for (let round = 0; round < 6; round++) {
      for (let limit = 1; limit <= 30; limit++) {
        await call(page(limit), { app, env: WITH_PREWARM, key: heavy })
      }
    }
    for (let round = 0; round < 5; round++) {
      for (const limit of [201, 202, 203]) await call(page(limit), { app, env: WITH_PREWARM })
    }
    upstream.requests.length = 0
    const five = { PREWARM_MAX_PAGES: '5' } as Partial<Env>
    const light = () => limitsAsked().filter((l) => Number(l) > 200)

    await prewarmAt(t0 + 400 * SECOND, five)
    expect({ light: light(), calls: upstream.requests.length }).toEqual({
      light: ['201', '202'],
      calls: 5,
    })
    // A minute later the pages refreshed are still warm: the budget goes to the next in turn.
    await prewarmAt(t0 + 460 * SECOND, five)
    expect(light()).toEqual(['201', '202', '203'])
  })

  it('is off with PREWARM_MAX_PAGES = 0', async () => {
    const t0 = Date.now()
    await demand(t0)
    expect(
      await prewarmAt(t0 + 400 * SECOND, { PREWARM_MAX_PAGES: '0' } as Partial<Env>),
    ).toBeNull()
    expect(upstream.requests).toHaveLength(0)
    expect(logs.join('\n')).toMatch(/"event":"prewarm".*off/)
  })

  it('forgets what it tracked when the cache is purged', async () => {
    const t0 = Date.now()
    await demand(t0)
    await env.GROUPS_CACHE.put(GENERATION_KEY, 'purged-1')
    const report = await prewarmAt(t0 + 400 * SECOND)
    expect(report).toMatchObject({ candidates: 0, upstreamCalls: 0 })
  })

  it('runs from the scheduled handler, its log line carrying the deployed version', async () => {
    const ctx = createExecutionContext()
    const VERSION = { id: 'cron-version-id', tag: '', timestamp: '2026-11-30T00:00:00Z' }
    await worker.scheduled(
      createScheduledController({ cron: '* * * * *' }),
      { ...env, VERSION } as Env,
      ctx,
    )
    await waitOnExecutionContext(ctx)
    const prewarm = logs.map((l) => JSON.parse(l)).filter((l) => l.event === 'prewarm')
    expect(prewarm).toHaveLength(1)
    expect(prewarm[0].version).toBe('cron-version-id')
  })
})
