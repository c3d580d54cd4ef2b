import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { createState } from '../../src/app'
import worker from '../../src/index'
import { runPrewarm } from '../../src/ops/prewarm'
import { GENERATION_KEY } from '../../src/pages/generation'
import { call, createGateway, logs, upstream } from '../helpers'

const SECOND = 1000
/** Demand is sent on every request here, so each test sees it at once. */
const WITH_PREWARM = { ...env, PREWARM_FLUSH_SECONDS: '0', PREWARM_MAX_PAGES: '2' } as Env
const page = (limit: number) => `/v1/organization/groups?limit=${limit}`

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
      skipped: { 'fresh-enough': 0, budget: 1, stopped: 0 },
      stopped: null,
      upstreamCalls: 2,
      candidates: 3,
    })
    expect(upstream.requests.map((r) => new URL(r.url).searchParams.get('limit'))).toEqual([
      '3',
      '4',
    ])
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
