import {
  createExecutionContext,
  evictDurableObject,
  runInDurableObject,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createState } from '../../src/app'
import { defaultVars } from '../../src/config'
import { runPrewarm } from '../../src/prewarm/cron'
import { type Demand, MAX_TRACKED, popularPages } from '../../src/prewarm/demand'
import type { PopularPages } from '../../src/prewarm/popular'
import { createGateway, partner, upstream } from '../helpers'

const SECOND = 1000
const FLUSH_MS = defaultVars().PREWARM_FLUSH_SECONDS * SECOND
const page = (limit: number) => `/v1/organization/groups?limit=${limit}`

/** What isolates sent `PopularPages`: each call, when, and how many requests it carried. */
function watchedPopularPages() {
  const sent: { at: number; requests: number }[] = []
  const binding = {
    idFromName: (name: string) => env.POPULAR_PAGES.idFromName(name),
    get(id: DurableObjectId) {
      const stub = env.POPULAR_PAGES.get(id)
      return {
        record(batch: Demand[], at: number) {
          sent.push({ at, requests: batch.reduce((sum, d) => sum + d.count, 0) })
          return stub.record(batch, at)
        },
      }
    },
  } as unknown as Env['POPULAR_PAGES']
  return { binding, sent }
}

/**
 * A partner's request, answered the way the runtime answers it; its `waitUntil` work (a trailing
 * send of demand may wait many seconds) is left running, for the caller to settle.
 */
async function ask(app: ReturnType<typeof createGateway>, path: string, bindings: Env) {
  const ctx = createExecutionContext()
  const request = new Request(`https://gateway.test${path}`, {
    headers: { authorization: `Bearer ${partner.key}` },
  })
  expect((await app.fetch(request, bindings, ctx)).status).toBe(200)
  return ctx
}

async function prewarmAt(t: number) {
  const ctx = createExecutionContext()
  const report = await runPrewarm(env, createState({ now: () => t }), (p) => ctx.waitUntil(p))
  await waitOnExecutionContext(ctx)
  return report
}

afterEach(() => {
  vi.useRealTimers()
})

describe('demand reaching PopularPages, at the shipped PREWARM_FLUSH_SECONDS', () => {
  it('sends a walk’s pages within 20 s after the partner goes quiet, so the next run refreshes them all', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const t0 = Date.now()
    let clock = t0
    const app = createGateway({ now: () => clock })
    const popular = watchedPopularPages()
    const shipped = {
      ...env,
      PREWARM_FLUSH_SECONDS: String(defaultVars().PREWARM_FLUSH_SECONDS),
      POPULAR_PAGES: popular.binding,
    } as Env
    // Three pages, five times each, over three seconds; then silence.
    const running: ExecutionContext[] = []
    for (let i = 0; i < 15; i++) {
      running.push(await ask(app, page(3 + (i % 3)), shipped))
      clock += 200
    }
    const lastRequest = clock - 200
    await vi.advanceTimersByTimeAsync(20 * SECOND)
    vi.useRealTimers()
    await Promise.all(running.map(waitOnExecutionContext))
    upstream.requests.length = 0

    // Past stale-while-revalidate: the run finds all three pages.
    const report = await prewarmAt(t0 + 400 * SECOND)
    expect(report).toMatchObject({ candidates: 3, refreshed: 3 })
    // Two calls for fifteen requests: the first at once, the rest in one trailing send.
    expect(popular.sent).toEqual([
      { at: t0, requests: 1 },
      { at: expect.any(Number), requests: 14 },
    ])
    expect(popular.sent[1]?.at).toBeLessThanOrEqual(lastRequest + 20 * SECOND)
  })

  it('under steady traffic makes one call per flush period, and loses no request when traffic stops', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const t0 = Date.now()
    let clock = t0
    const app = createGateway({ now: () => clock })
    const popular = watchedPopularPages()
    const shipped = {
      ...env,
      PREWARM_FLUSH_SECONDS: String(defaultVars().PREWARM_FLUSH_SECONDS),
      POPULAR_PAGES: popular.binding,
    } as Env
    // A request every 2 s for three minutes, then silence.
    const running: ExecutionContext[] = []
    for (let i = 0; i < 90; i++) {
      running.push(await ask(app, page(3 + (i % 3)), shipped))
      clock += 2 * SECOND
      await vi.advanceTimersByTimeAsync(2 * SECOND)
    }
    await vi.advanceTimersByTimeAsync(20 * SECOND)
    vi.useRealTimers()
    await Promise.all(running.map(waitOnExecutionContext))

    expect(popular.sent.reduce((sum, s) => sum + s.requests, 0)).toBe(90)
    expect(popular.sent).toHaveLength(4)
    const gaps = popular.sent.slice(1).map((s, i) => s.at - (popular.sent[i]?.at ?? 0))
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(FLUSH_MS)
  })
})

describe('PopularPages', () => {
  it('stays bounded, and a partner asking for thousands of pages leaves the others theirs', async () => {
    const stub = popularPages(env)
    const t0 = Date.now()
    // The longest names and cursors the gateway accepts.
    const name = (tag: string) => tag.padEnd(63, 'x')
    const cursor = (n: number) => `g_${String(n).padStart(126, '0')}`
    const demand = (who: string, from: number, to: number, count: number): Demand[] =>
      Array.from({ length: to - from }, (_, i) => ({
        query: { after: cursor(from + i), limit: 100, order: 'asc' as const },
        generation: 'g1',
        partner: name(who),
        count,
      }))
    for (let from = 0; from < 3_000; from += MAX_TRACKED) {
      await stub.record(demand('flood', from, from + MAX_TRACKED, 9), t0)
    }
    await stub.record(demand('alpha', 10_000, 10_010, 1), t0)
    await stub.record(demand('beta', 20_000, 20_005, 1), t0)

    const stored = await runInDurableObject(stub, async (_: PopularPages, state) => {
      const scores = (await state.storage.get<{ partner: string }[]>('scores')) ?? []
      return { scores, bytes: JSON.stringify(scores).length }
    })
    expect(stored.scores).toHaveLength(MAX_TRACKED)
    const held = (who: string) => stored.scores.filter((s) => s.partner === name(who)).length
    expect({ alpha: held('alpha'), beta: held('beta') }).toEqual({ alpha: 10, beta: 5 })
    // Well under a Durable Object's 2 MB per value.
    expect(stored.bytes).toBeLessThan(400 * 1024)

    // The cron gets the partners in turn: the flood's most asked-for, then alpha's, then beta's.
    const top = await stub.top(6, 'g1', t0)
    expect(top.map((q) => q.after?.slice(-5))).toEqual([
      '00000',
      '10000',
      '20000',
      '00001',
      '10001',
      '20001',
    ])
  })

  it('reads the demand an older version stored, before demand was kept per partner', async () => {
    const stub = popularPages(env)
    const t0 = Date.now()
    const query = { after: null, limit: 7, order: 'asc' as const }
    await runInDurableObject(stub, (_: PopularPages, state) =>
      state.storage.put('scores', [
        ['asc:7:', { query, generation: 'g1', score: 4, updatedAt: t0 }],
      ]),
    )
    await evictDurableObject(stub)
    expect(await stub.top(5, 'g1', t0)).toEqual([query])
    // Its demand adds up with the same page's new demand, whoever asks.
    const other = { after: null, limit: 8, order: 'asc' as const }
    await stub.record([{ query: other, generation: 'g1', partner: 'acme', count: 3 }], t0)
    expect(await stub.top(5, 'g1', t0)).toEqual([query, other])
  })
})
