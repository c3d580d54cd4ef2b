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
import { DEMAND_HALF_LIFE_MS, type PopularPages } from '../../src/prewarm/popular'
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

/**
 * A gateway on a clock of the test's (`time.now`), at the shipped PREWARM_FLUSH_SECONDS, whose
 * PopularPages calls are watched; timers are fake until the test says otherwise.
 */
function shippedFlush() {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
  const t0 = Date.now()
  const time = { now: t0 }
  const app = createGateway({ now: () => time.now })
  const popular = watchedPopularPages()
  const shipped = {
    ...env,
    PREWARM_FLUSH_SECONDS: String(defaultVars().PREWARM_FLUSH_SECONDS),
    POPULAR_PAGES: popular.binding,
  } as Env
  return { t0, time, app, popular, shipped }
}

describe('demand reaching PopularPages, at the shipped PREWARM_FLUSH_SECONDS', () => {
  it('sends a walk’s pages within 20 s after the partner goes quiet, so the next run refreshes them all', async () => {
    const { t0, time, app, popular, shipped } = shippedFlush()
    // Three pages, five times each, over three seconds; then silence.
    const running: ExecutionContext[] = []
    for (let i = 0; i < 15; i++) {
      running.push(await ask(app, page(3 + (i % 3)), shipped))
      time.now += 200
    }
    const lastRequest = time.now - 200
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
    const { t0, time, app, popular, shipped } = shippedFlush()
    // A request every 2 s for three minutes, then silence.
    const running: ExecutionContext[] = []
    for (let i = 0; i < 90; i++) {
      running.push(await ask(app, page(3 + (i % 3)), shipped))
      time.now += 2 * SECOND
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

/** A `PopularPages` object of its own, as the cron and the isolates reach the shared one. */
const popularPagesStub = () =>
  env.POPULAR_PAGES.get(env.POPULAR_PAGES.idFromName(`popular-${crypto.randomUUID()}`))
const HOUR = DEMAND_HALF_LIFE_MS
const limitOf = (q: { limit: number }) => q.limit
/** `count` requests of acme's for the page of `limit` groups, in generation g1. */
const asked = (limit: number, count: number): Demand => ({
  query: { after: null, limit, order: 'asc' },
  generation: 'g1',
  partner: 'acme',
  count,
})

describe('PopularPages demand decay', () => {
  it('counts a request one half-life (DEMAND_HALF_LIFE_MS, an hour) old as half of one made now', async () => {
    const stub = popularPagesStub()
    const t0 = Date.now()
    await stub.record([asked(100, 100)], t0)
    await stub.record([asked(49, 49), asked(51, 51)], t0 + HOUR)
    // 100 an hour ago weighs 50 now: between 49 and 51 asked for now.
    expect((await stub.top(3, 'g1', t0 + HOUR)).map(limitOf)).toEqual([51, 100, 49])
  })

  it('adds new requests to the decayed count, not to the count as it was', async () => {
    const stub = popularPagesStub()
    const t0 = Date.now()
    await stub.record([asked(100, 100)], t0)
    // 100 halved, plus 50: 100, between 99 and 101 (undecayed it would be 150, first).
    await stub.record([asked(100, 50), asked(99, 99), asked(101, 101)], t0 + HOUR)
    expect((await stub.top(3, 'g1', t0 + HOUR)).map(limitOf)).toEqual([101, 100, 99])
  })

  it('gives the first turn to the partner with the most decayed demand, not the most ever', async () => {
    const stub = popularPagesStub()
    const t0 = Date.now()
    const page = (limit: number) => ({ after: null, limit, order: 'asc' as const })
    await stub.record([{ query: page(1), generation: 'g1', partner: 'early', count: 100 }], t0)
    await stub.record(
      [{ query: page(2), generation: 'g1', partner: 'recent', count: 60 }],
      t0 + HOUR,
    )
    // early's 100 weighs 50 an hour later: recent's 60 goes first.
    expect((await stub.top(2, 'g1', t0 + HOUR)).map(limitOf)).toEqual([2, 1])
  })
})

describe('PopularPages', () => {
  it('keeps MAX_TRACKED pages; one more, and the partner holding the most gives up its least asked-for', async () => {
    const stub = popularPagesStub()
    const t0 = Date.now()
    // The flood's page i was asked for i + 1 times: page 0 is its least asked-for.
    const flood: Demand[] = Array.from({ length: MAX_TRACKED }, (_, i) => ({
      query: { after: `g_${i}`, limit: 10, order: 'asc' },
      generation: 'g1',
      partner: 'flood',
      count: i + 1,
    }))
    await stub.record(flood, t0)
    const all = MAX_TRACKED + 10
    expect(await stub.top(all, 'g1', t0)).toHaveLength(MAX_TRACKED)
    const late = { after: 'g_late', limit: 10, order: 'asc' as const }
    await stub.record([{ query: late, generation: 'g1', partner: 'late', count: 1 }], t0)
    const kept = await stub.top(all, 'g1', t0)
    expect(kept).toHaveLength(MAX_TRACKED)
    expect(kept).toContainEqual(late)
    expect(kept.map((q) => q.after)).not.toContain('g_0')
    expect(kept.map((q) => q.after)).toContain('g_1')
  })

  it('past MAX_TRACKED, splits the room evenly between partners that each ask for more', async () => {
    const stub = popularPagesStub()
    const t0 = Date.now()
    const demand = (who: string, n: number): Demand[] =>
      Array.from({ length: n }, (_, i) => ({
        query: { after: `${who}_${i}`, limit: 10, order: 'asc' },
        generation: 'g1',
        partner: who,
        count: 1,
      }))
    const share = MAX_TRACKED / 2
    await stub.record(demand('a', share + 200), t0)
    await stub.record(demand('b', share + 300), t0)
    const kept = await stub.top(MAX_TRACKED + 10, 'g1', t0)
    const held = (who: string) => kept.filter((q) => q.after?.startsWith(`${who}_`)).length
    expect({ a: held('a'), b: held('b') }).toEqual({ a: share, b: share })
  })

  it('past MAX_TRACKED, a partner keeps its most asked-for pages by decayed count: new demand outranks old', async () => {
    const stub = popularPagesStub()
    const t0 = Date.now()
    const demand = (tag: string, n: number, count: number): Demand[] =>
      Array.from({ length: n }, (_, i) => ({
        query: { after: `${tag}_${i}`, limit: 10, order: 'asc' },
        generation: 'g1',
        partner: 'acme',
        count,
      }))
    const half = MAX_TRACKED / 2
    // Asked 3 times two hours ago (worth 0.75 now), then once each now: 1.5 x MAX_TRACKED pages.
    await stub.record(demand('old', MAX_TRACKED, 3), t0 - 2 * HOUR)
    await stub.record(demand('new', half, 1), t0)
    const kept = await stub.top(MAX_TRACKED + 10, 'g1', t0)
    expect(kept).toHaveLength(MAX_TRACKED)
    expect(kept.filter((q) => q.after?.startsWith('new_'))).toHaveLength(half)
  })

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
