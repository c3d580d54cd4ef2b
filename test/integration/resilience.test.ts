import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Fault } from '../../simulator/upstream'
import { GENERATION_KEY, GENERATION_TTL_MS } from '../../src/pages/generation'
import { CACHE_KEY_PREFIX, cacheKey } from '../../src/pages/page'
import { fetchGroupsPage } from '../../src/upstream/client'
import { TEST_ADMIN_KEY, TEST_UPSTREAM_BASE_URL } from '../constants'
import {
  call,
  createGateway,
  failingKv,
  loggedEvents,
  logs,
  respond,
  secrets,
  upstream,
  watchedFetchers,
} from '../helpers'

const PATH = '/v1/organization/groups?limit=3'
const KEY = cacheKey('0', { after: null, limit: 3, order: 'asc' })
const SECOND = 1000
/** Past fresh (60 s) and stale-while-revalidate (300 s), within stale-if-error (1 day). */
const STALE_IF_ERROR_AGE = 400 * SECOND

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
}

/** Stores the page for PATH now, and returns its bytes and when it was stored. */
async function storePage() {
  const t0 = Date.now()
  const res = await call(PATH, { now: () => t0 })
  expect(res.status).toBe(200)
  upstream.requests.length = 0
  return { t0, text: await res.text(), etag: res.headers.get('etag') as string }
}

/** The last request's log line, parsed. */
function requestLine(): Record<string, unknown> {
  const lines = logs.filter((l) => l.includes('"event":"request"'))
  return JSON.parse(lines.at(-1) as string)
}

const inAMinute = () => new Date(Date.now() + 60_000).toUTCString()

const UPSTREAM_FAULTS: [string, Fault, number, string, string | null][] = [
  ['500', { kind: 'status', status: 500 }, 502, 'upstream_error', null],
  ['502', { kind: 'status', status: 502 }, 502, 'upstream_error', null],
  ['503', { kind: 'status', status: 503 }, 502, 'upstream_error', null],
  ['504', { kind: 'status', status: 504 }, 502, 'upstream_error', null],
  ['429 + retry-after', { kind: 'rate_limit', retryAfter: '7' }, 429, 'rate_limit_exceeded', '7'],
  [
    '429 + retry-after-ms',
    { kind: 'rate_limit', retryAfterMs: '2500' },
    429,
    'rate_limit_exceeded',
    '3',
  ],
  [
    '429 + retry-after date',
    { kind: 'rate_limit', retryAfter: inAMinute() },
    429,
    'rate_limit_exceeded',
    null,
  ],
  ['a hang past the timeout', { kind: 'hang' }, 504, 'upstream_timeout', null],
  ['a dropped connection', { kind: 'drop' }, 502, 'upstream_unreachable', null],
  ['a malformed body', { kind: 'malformed' }, 502, 'upstream_invalid_response', null],
  ['a schema-drifted body', { kind: 'drift' }, 502, 'upstream_invalid_response', null],
  ['a 401 quoting the key', { kind: 'unauthorized' }, 502, 'upstream_auth_failed', null],
]

const FAST = { ...env, UPSTREAM_TIMEOUT_MS: '50' }

/**
 * How much longer than one attempt a caller with a stale page waits for a fetch it joined (the page
 * service's FALLBACK_GRACE_MS, not exported).
 */
const FALLBACK_GRACE_MS = 250

afterEach(() => {
  vi.useRealTimers()
})

describe('upstream faults with no page to fall back on', () => {
  it.each(UPSTREAM_FAULTS)(
    '%s -> the error shape, nothing stored',
    async (_, fault, status, code, retryAfter) => {
      upstream.sim.setFault(fault)
      const res = await call(PATH, { env: FAST })
      expect(res.status).toBe(status)
      const body = (await res.json()) as ErrorBody
      expect(body.error).toMatchObject({ code, param: null })
      // Retrying cannot mend the gateway's own key; everything else may pass.
      const retryable = code !== 'upstream_auth_failed'
      expect(res.headers.get('x-should-retry')).toBe(String(retryable))
      if (retryable) expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      if (retryAfter) expect(res.headers.get('retry-after')).toBe(retryAfter)
      expect(res.headers.get('cache-status')).toMatch(/^groups-gateway; fwd=uri-miss/)
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect((await env.GROUPS_CACHE.list({ prefix: CACHE_KEY_PREFIX })).keys).toHaveLength(0)
    },
  )
})

describe('upstream faults with a page within stale-if-error', () => {
  it.each(UPSTREAM_FAULTS)('%s -> the stale page, 200, unchanged in KV', async (_, fault) => {
    const { t0, text } = await storePage()
    const before = await env.GROUPS_CACHE.getWithMetadata(KEY)
    upstream.sim.setFault(fault)
    const res = await call(PATH, { env: FAST, now: () => t0 + STALE_IF_ERROR_AGE })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe(text)
    expect(res.headers.get('cache-status')).toMatch(
      /^groups-gateway; fwd=stale(; fwd-status=\d{3})?; ttl=-340; detail=stale-if-error$/,
    )
    expect(res.headers.get('age')).toBe('400')
    expect(res.headers.get('cache-control')).toBe('private, max-age=60')
    expect(await env.GROUPS_CACHE.getWithMetadata(KEY)).toEqual(before)
    // With a page to fall back on, one attempt only: the answer comes sooner.
    expect(upstream.requests).toHaveLength(1)
  })

  it('never covers the upstream refusing the query itself (404 stands)', async () => {
    const { t0 } = await storePage()
    upstream.sim.fetch = async () =>
      Response.json(
        {
          error: {
            message: 'No such cursor.',
            type: 'invalid_request_error',
            param: 'after',
            code: null,
          },
        },
        { status: 404 },
      )
    const res = await call(PATH, { now: () => t0 + STALE_IF_ERROR_AGE })
    expect(res.status).toBe(404)
  })

  it('serves its stale page one attempt’s timeout (plus grace) after joining a retrying fetch, while that fetch is still held upstream', async () => {
    const { t0, text } = await storePage()
    const gate = upstream.sim.hold()
    const fetchers = watchedFetchers()
    const TIMEOUT_MS = 30_000
    const vars = {
      ...env,
      PAGE_FETCHER: fetchers.binding,
      UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS),
      UPSTREAM_MAX_RETRIES: '5',
      UPSTREAM_BUDGET_MS: '300000',
    }
    const later = () => t0 + STALE_IF_ERROR_AGE
    // A caller with no page to fall back on starts a fetch allowed to retry for minutes...
    const noCache = { headers: { 'cache-control': 'no-cache' } }
    const cold = call(PATH, { env: vars, init: noCache, now: later })
    await gate.reached(1)
    // ...and a caller with a stale page joins it (the gateway's own clock runs on fake timers).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    let answered = false
    const stale = respond(PATH, { env: vars, now: later }).then((a) => {
      answered = true
      return a
    })
    await fetchers.asked(2)
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS + FALLBACK_GRACE_MS - 1)
    expect(answered).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    const { res, settled } = await stale
    vi.useRealTimers()
    expect(res.status).toBe(200)
    expect(await res.text()).toBe(text)
    expect(res.headers.get('cache-status')).toBe(
      'groups-gateway; fwd=stale; ttl=-340; detail=stale-if-error',
    )
    // Answered while the fetch it joined was still in its first attempt, held upstream.
    expect({ held: gate.waiting, upstreamCalls: upstream.requests.length }).toEqual({
      held: 1,
      upstreamCalls: 1,
    })
    gate.open()
    expect((await cold).status).toBe(200)
    await settled()
    expect(upstream.requests).toHaveLength(1)
  })

  it('stops serving the page once it is older than stale-if-error', async () => {
    const { t0 } = await storePage()
    upstream.sim.setFault({ kind: 'status', status: 503 })
    const res = await call(PATH, { now: () => t0 + 60 * SECOND + 86_400 * SECOND })
    expect(res.status).toBe(502)
  })
})

describe('KV faults never fail a request', () => {
  it('a page read failure with nothing stored: a miss, served from the upstream and stored, logged as kv_read_failed', async () => {
    const kv = failingKv('page-read')
    const res = await call(PATH, { env: { ...env, GROUPS_CACHE: kv } })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-status')).toBe(
      'groups-gateway; fwd=uri-miss; fwd-status=200; stored; ttl=60',
    )
    expect(kv.readKeys).toEqual([GENERATION_KEY, KEY])
    expect(loggedEvents()).toContain('kv_read_failed')
    expect(loggedEvents()).not.toContain('kv_generation_read_failed')
    expect(await env.GROUPS_CACHE.get(KEY)).toBe(await res.text())
  })

  it('a page read failure with a stale page stored: counts as a miss (uri-miss, not stale), served from the upstream, logged as kv_read_failed', async () => {
    const { t0 } = await storePage()
    const res = await call(PATH, {
      env: { ...env, GROUPS_CACHE: failingKv('page-read') },
      now: () => t0 + STALE_IF_ERROR_AGE,
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('age')).toBe('0')
    expect(res.headers.get('cache-status')).toBe(
      'groups-gateway; fwd=uri-miss; fwd-status=200; stored; ttl=60',
    )
    expect(upstream.requests).toHaveLength(1)
    expect(loggedEvents()).toContain('kv_read_failed')
    expect(loggedEvents()).not.toContain('kv_generation_read_failed')
  })

  it('an unreadable cache generation: served from the upstream with no page read or stored (cache-unavailable), logged as kv_generation_read_failed', async () => {
    const { t0 } = await storePage()
    const before = await env.GROUPS_CACHE.list({ prefix: CACHE_KEY_PREFIX })
    const kv = failingKv('generation-read')
    const res = await call(PATH, { env: { ...env, GROUPS_CACHE: kv }, now: () => t0 + 1_000 })
    expect(res.status).toBe(200)
    // A page from before a purge could come back under a guessed generation: no cache at all.
    expect(res.headers.get('cache-status')).toBe(
      'groups-gateway; fwd=uri-miss; fwd-status=200; detail=cache-unavailable; ttl=60',
    )
    expect(upstream.requests).toHaveLength(1)
    expect(kv.readKeys).toEqual([GENERATION_KEY])
    expect(await env.GROUPS_CACHE.list({ prefix: CACHE_KEY_PREFIX })).toEqual(before)
    expect(loggedEvents()).toContain('kv_generation_read_failed')
    expect(loggedEvents()).not.toContain('kv_read_failed')
  })

  it('a write 429 with nothing stored: served, not stored, logged as kv_write_failed', async () => {
    const res = await call(PATH, { env: { ...env, GROUPS_CACHE: failingKv('write') } })
    expect(res.status).toBe(200)
    expect(await env.GROUPS_CACHE.get(KEY)).toBeNull()
    expect(logs.join('\n')).toMatch(/kv_write_failed.*429/)
  })

  it('a write 429 with a stale page stored: the new page served, the old one kept', async () => {
    const { t0 } = await storePage()
    const before = await env.GROUPS_CACHE.getWithMetadata(KEY)
    const res = await call(PATH, {
      env: { ...env, GROUPS_CACHE: failingKv('write') },
      now: () => t0 + STALE_IF_ERROR_AGE,
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('age')).toBe('0')
    expect(await env.GROUPS_CACHE.getWithMetadata(KEY)).toEqual(before)
  })
})

describe('retries', () => {
  const RETRYING = { ...env, UPSTREAM_MAX_RETRIES: '2', UPSTREAM_TIMEOUT_MS: '100' }

  it('retries a 5xx twice and succeeds', async () => {
    upstream.sim.setFault({ kind: 'status', status: 503, count: 2 })
    const res = await call(PATH, { env: RETRYING })
    expect(res.status).toBe(200)
    expect(upstream.requests).toHaveLength(3)
  })

  it('gives up after the configured retries', async () => {
    upstream.sim.setFault({ kind: 'status', status: 500 })
    expect((await call(PATH, { env: RETRYING })).status).toBe(502)
    expect(upstream.requests).toHaveLength(3)
  })

  it.each([
    ['a dropped connection', { kind: 'drop' } as Fault],
    ['a timeout', { kind: 'hang' } as Fault],
    ['a 429 with retry-after-ms', { kind: 'rate_limit', retryAfterMs: '20' } as Fault],
    ['a 429 with retry-after', { kind: 'rate_limit', retryAfter: '0' } as Fault],
  ])('retries %s', async (_, fault) => {
    upstream.sim.setFault({ ...fault, count: 1 })
    expect((await call(PATH, { env: RETRYING })).status).toBe(200)
    expect(upstream.requests).toHaveLength(2)
  })

  it('does not retry what cannot get better: 404, invalid bodies, a 401', async () => {
    expect((await call('/v1/organization/groups?after=group_x', { env: RETRYING })).status).toBe(
      404,
    )
    upstream.sim.setFault({ kind: 'malformed', count: 1 })
    expect((await call(PATH, { env: RETRYING })).status).toBe(502)
    upstream.sim.setFault({ kind: 'unauthorized', count: 1 })
    expect((await call('/v1/organization/groups?limit=4', { env: RETRYING })).status).toBe(502)
    expect(upstream.requests).toHaveLength(3)
  })

  it('obeys x-should-retry before the status', async () => {
    const original = upstream.sim.fetch
    let calls = 0
    upstream.sim.fetch = async (request) => {
      calls++
      if (calls === 1) {
        return Response.json(
          { error: { message: 'no' } },
          { status: 503, headers: { 'x-should-retry': 'false' } },
        )
      }
      return original(request)
    }
    expect((await call(PATH, { env: RETRYING })).status).toBe(502)
    calls = -10
    upstream.sim.fetch = async (request) =>
      ++calls < -8
        ? Response.json(
            { error: { message: 'try' } },
            { status: 400, headers: { 'x-should-retry': 'true' } },
          )
        : original(request)
    // Another page: the first one's failure stands for a few seconds (see shared-failures).
    const other = '/v1/organization/groups?limit=4'
    expect((await call(other, { env: RETRYING })).status).toBe(200)
  })

  it('does not wait on a retry-after beyond a minute: the caller gets the 429', async () => {
    upstream.sim.setFault({ kind: 'rate_limit', retryAfter: '120' })
    const res = await call(PATH, { env: RETRYING })
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('120')
    expect(upstream.requests).toHaveLength(1)
  })

  it('starts no attempt that could not end within UPSTREAM_BUDGET_MS, however many retries are allowed', async () => {
    upstream.sim.setFault({ kind: 'hang' })
    const res = await call(PATH, {
      env: {
        ...env,
        UPSTREAM_MAX_RETRIES: '10',
        UPSTREAM_TIMEOUT_MS: '20',
        UPSTREAM_BUDGET_MS: '50',
      },
    })
    expect(res.status).toBe(504)
    // Each attempt hangs until its timeout, clipped to what is left of the 50 ms: a retry starts
    // only with a whole attempt's 20 ms left, so a third could not start.
    const attempts = upstream.requests.length
    expect(attempts).toBeGreaterThanOrEqual(1)
    expect(attempts).toBeLessThanOrEqual(2)
    const detail = /^upstream timed out after (\d+) ms \((\d+) attempts?\)$/.exec(
      String(requestLine().detail),
    )
    expect(Number(detail?.[1])).toBeLessThanOrEqual(20)
    expect(Number(detail?.[2])).toBe(attempts)
  })

  it('clips an attempt’s timeout to what is left of UPSTREAM_BUDGET_MS, and starts no retry without a whole attempt left', async () => {
    // The gateway's clock and its waits on fake timers; the upstream answers each attempt 3.5 s
    // later on that clock, with a 429 asking for 500 ms.
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] })
    const t0 = Date.now()
    const timeouts = vi.spyOn(AbortSignal, 'timeout')
    upstream.sim.setFault({ kind: 'rate_limit', retryAfterMs: '500' })
    const answer = upstream.sim.fetch
    const started: number[] = []
    upstream.sim.fetch = async (request) => {
      started.push(Date.now() - t0)
      vi.setSystemTime(Date.now() + 3_500)
      return answer(request)
    }
    const result = fetchGroupsPage({
      baseUrl: TEST_UPSTREAM_BASE_URL,
      timeoutMs: 5_000,
      maxRetries: 10,
      budgetMs: 12_000,
      retryBaseMs: 500,
      adminKey: TEST_ADMIN_KEY,
      query: { after: null, limit: 3, order: 'asc' },
      requestId: 'req-budget',
    })
    await vi.advanceTimersByTimeAsync(12_000)
    // Every 3.5 s + 500 ms; at 8 s only 4 s of the 12 are left; at 11.5 s a retry would start at
    // 12 s, with no time left for it.
    expect(started).toEqual([0, 4_000, 8_000])
    expect(timeouts.mock.calls.map(([ms]) => ms)).toEqual([5_000, 5_000, 4_000])
    expect(await result).toMatchObject({ ok: false, trace: { attempts: 3 } })
  })

  it('tells the SDK what to do with x-should-retry', async () => {
    upstream.sim.setFault({ kind: 'status', status: 500 })
    expect((await call(PATH)).headers.get('x-should-retry')).toBe('true')
    expect((await call('/v1/organization/groups?limit=x')).headers.get('x-should-retry')).toBe(
      'false',
    )
  })
})

describe('freshness', () => {
  it('serves a page past fresh at once and refreshes it in the background', async () => {
    const { t0, text } = await storePage()
    const t = t0 + 61 * SECOND
    const res = await call(PATH, { now: () => t })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe(text)
    expect(res.headers.get('cache-status')).toBe(
      'groups-gateway; hit; ttl=-1; detail=stale-while-revalidate',
    )
    expect(res.headers.get('age')).toBe('61')
    expect(res.headers.get('cache-control')).toBe('private, max-age=60')
    // `call` waited for the background work: the refreshed page is stored.
    expect(upstream.requests).toHaveLength(1)
    const { metadata } = await env.GROUPS_CACHE.getWithMetadata<{ storedAt: number }>(KEY)
    expect(metadata?.storedAt).toBe(t)
    const next = await call(PATH, { now: () => t + SECOND })
    expect(next.headers.get('cache-status')).toBe('groups-gateway; hit; ttl=59')
  })

  it('while one refresh of a page is held upstream, serves 10 isolates the stale page at once and starts no second refresh', async () => {
    const { t0, text } = await storePage()
    const gate = upstream.sim.hold()
    const fetchers = watchedFetchers()
    const vars = { ...env, PAGE_FETCHER: fetchers.binding }
    const t = t0 + 61 * SECOND
    // Each request an isolate of its own: each starts a background refresh of the page.
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => respond(PATH, { env: vars, now: () => t })),
    )
    for (const { res } of answers) {
      expect(res.headers.get('cache-status')).toBe(
        'groups-gateway; hit; ttl=-1; detail=stale-while-revalidate',
      )
      expect(await res.text()).toBe(text)
    }
    await fetchers.asked(10)
    await gate.reached(1)
    expect(upstream.requests).toHaveLength(1)
    gate.open()
    await Promise.all(answers.map((a) => a.settled()))
    expect(upstream.requests).toHaveLength(1)
    const { metadata } = await env.GROUPS_CACHE.getWithMetadata<{ storedAt: number }>(KEY)
    expect(metadata?.storedAt).toBe(t)
  })

  it('fetches a page past stale-while-revalidate before serving it', async () => {
    const { t0 } = await storePage()
    const res = await call(PATH, { now: () => t0 + 361 * SECOND })
    expect(res.headers.get('cache-status')).toBe(
      'groups-gateway; fwd=stale; fwd-status=200; stored; ttl=60',
    )
  })
})

describe('validators', () => {
  it('gives a page a strong ETag that does not change while the page does not', async () => {
    const { etag } = await storePage()
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/)
    expect((await call(PATH)).headers.get('etag')).toBe(etag)
    const other = await call('/v1/organization/groups?limit=4')
    expect(other.headers.get('etag')).not.toBe(etag)
  })

  it.each([
    ['the ETag', (e: string) => e],
    ['a list holding it', (e: string) => `"nope", ${e}`],
    ['its weak form', (e: string) => `W/${e}`],
    ['*', () => '*'],
  ])('answers If-None-Match with %s by 304', async (_, header) => {
    const { etag } = await storePage()
    const res = await call(PATH, { init: { headers: { 'if-none-match': header(etag) } } })
    expect(res.status).toBe(304)
    expect(await res.text()).toBe('')
    expect(res.headers.get('etag')).toBe(etag)
    expect(res.headers.get('cache-status')).toMatch(/^groups-gateway; hit/)
    expect(res.headers.get('cache-control')).toMatch(/^private, max-age=/)
  })

  it('answers a stale If-None-Match with the page', async () => {
    await storePage()
    const res = await call(PATH, { init: { headers: { 'if-none-match': '"old"' } } })
    expect(res.status).toBe(200)
  })

  it('answers 304 on a miss when the fetched page is the one the caller has', async () => {
    const { etag } = await storePage()
    await env.GROUPS_CACHE.delete(KEY)
    const res = await call(PATH, { init: { headers: { 'if-none-match': etag } } })
    expect(res.status).toBe(304)
    expect(res.headers.get('cache-status')).toMatch(/^groups-gateway; fwd=uri-miss; fwd-status=200/)
  })
})

describe('request directives', () => {
  it.each([
    ['Cache-Control: no-cache', { 'cache-control': 'no-cache' }],
    ['Cache-Control: max-age=0', { 'cache-control': 'max-age=0' }],
    ['Pragma: no-cache', { pragma: 'no-cache' }],
  ])('%s goes to the upstream and stores the result', async (_, headers) => {
    const { t0 } = await storePage()
    const t = t0 + 5 * SECOND
    const res = await call(PATH, { init: { headers }, now: () => t })
    expect(res.headers.get('cache-status')).toBe(
      'groups-gateway; fwd=request; fwd-status=200; stored; ttl=60',
    )
    expect(upstream.requests).toHaveLength(1)
    const { metadata } = await env.GROUPS_CACHE.getWithMetadata<{ storedAt: number }>(KEY)
    expect(metadata?.storedAt).toBe(t)
  })

  it('shares a no-cache fetch made this very second instead of calling the upstream again, and calls it a second later', async () => {
    const t = Date.now()
    const headers = { 'cache-control': 'no-cache' }
    await call(PATH, { init: { headers }, now: () => t })
    await call(PATH, { init: { headers }, now: () => t + 500 })
    expect(upstream.requests).toHaveLength(1)
    await call(PATH, { init: { headers }, now: () => t + 1_000 })
    expect(upstream.requests).toHaveLength(2)
  })

  it('max-age=N is not answered with a page older than N seconds: it is fetched anew', async () => {
    const { t0, etag } = await storePage()
    const t = t0 + 3 * SECOND
    const res = await call(PATH, {
      init: { headers: { 'cache-control': 'max-age=1' } },
      now: () => t,
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('age')).toBe('0')
    expect(res.headers.get('cache-status')).toBe(
      'groups-gateway; fwd=request; fwd-status=200; stored; ttl=60',
    )
    expect(res.headers.get('etag')).toBe(etag)
    expect(upstream.requests).toHaveLength(1)
    const { metadata } = await env.GROUPS_CACHE.getWithMetadata<{ storedAt: number }>(KEY)
    expect(metadata?.storedAt).toBe(t)
  })

  it.each([
    ['max-age=5', 'max-age=5'],
    ['its quoted form', 'max-age="5"'],
    ['among other directives', 'no-transform, max-age=5'],
  ])('%s is answered from the cache with a page no older than that', async (_, header) => {
    const { t0 } = await storePage()
    const res = await call(PATH, {
      init: { headers: { 'cache-control': header } },
      now: () => t0 + 3 * SECOND,
    })
    expect(res.headers.get('cache-status')).toBe('groups-gateway; hit; ttl=57')
    expect(res.headers.get('age')).toBe('3')
    expect(upstream.requests).toHaveLength(0)
  })

  it('max-age=N does not take a stale page, even one younger than N (no max-stale)', async () => {
    const { t0 } = await storePage()
    const res = await call(PATH, {
      init: { headers: { 'cache-control': 'max-age=600' } },
      now: () => t0 + 90 * SECOND,
    })
    expect(res.headers.get('cache-status')).toBe(
      'groups-gateway; fwd=request; fwd-status=200; stored; ttl=60',
    )
    expect(upstream.requests).toHaveLength(1)
  })

  it('max-age=N requests for a page too old, all asking while the fetch is held upstream, share that one fetch', async () => {
    const { t0 } = await storePage()
    const gate = upstream.sim.hold()
    const fetchers = watchedFetchers()
    const responses = Promise.all(
      Array.from({ length: 20 }, () =>
        call(PATH, {
          env: { ...env, PAGE_FETCHER: fetchers.binding },
          init: { headers: { 'cache-control': 'max-age=1' } },
          now: () => t0 + 3 * SECOND,
        }),
      ),
    )
    await fetchers.asked(20)
    gate.open()
    for (const res of await responses) {
      expect(res.headers.get('age')).toBe('0')
      expect(res.headers.get('cache-status')).toMatch(
        /^groups-gateway; fwd=request; fwd-status=200; (stored|collapsed); ttl=60$/,
      )
    }
    expect(upstream.requests).toHaveLength(1)
  })

  it('max-age=N with only-if-cached and an older page gets a 504 that says so', async () => {
    const { t0 } = await storePage()
    const res = await call(PATH, {
      init: { headers: { 'cache-control': 'max-age=2, only-if-cached' } },
      now: () => t0 + 3 * SECOND,
    })
    expect(res.status).toBe(504)
    const { error } = (await res.json()) as ErrorBody
    expect(error.code).toBe('not_cached')
    expect(error.message).toMatch(/3 seconds old, older than the max-age=2 the request accepts/)
    expect(upstream.requests).toHaveLength(0)
  })

  it('max-age=N with a page only within stale-if-error gets the upstream’s error, as no-cache does', async () => {
    const { t0 } = await storePage()
    upstream.sim.setFault({ kind: 'status', status: 503 })
    const res = await call(PATH, {
      init: { headers: { 'cache-control': 'max-age=86400' } },
      now: () => t0 + STALE_IF_ERROR_AGE,
    })
    expect(res.status).toBe(502)
    expect(res.headers.get('cache-status')).toBe('groups-gateway; fwd=request; fwd-status=503')
  })

  it('no-store is ignored: a page is served from the cache, and a fetched one is stored', async () => {
    const headers = { 'cache-control': 'no-store' }
    const t0 = Date.now()
    const miss = await call(PATH, { init: { headers }, now: () => t0 })
    expect(miss.headers.get('cache-status')).toBe(
      'groups-gateway; fwd=uri-miss; fwd-status=200; stored; ttl=60',
    )
    const { metadata } = await env.GROUPS_CACHE.getWithMetadata<{ storedAt: number }>(KEY)
    expect(metadata?.storedAt).toBe(t0)
    const hit = await call(PATH, { init: { headers }, now: () => t0 + SECOND })
    expect(hit.headers.get('cache-status')).toBe('groups-gateway; hit; ttl=59')
    expect(upstream.requests).toHaveLength(1)
  })

  it('only-if-cached answers from the cache', async () => {
    await storePage()
    const res = await call(PATH, { init: { headers: { 'cache-control': 'only-if-cached' } } })
    expect(res.status).toBe(200)
    expect(upstream.requests).toHaveLength(0)
  })

  it('only-if-cached on a miss gets a 504 that says so, logged as info, and never calls the upstream', async () => {
    const res = await call(PATH, { init: { headers: { 'cache-control': 'only-if-cached' } } })
    expect(res.status).toBe(504)
    const { error } = (await res.json()) as ErrorBody
    expect(error.code).toBe('not_cached')
    expect(error.message).toMatch(/not in the gateway’s cache/)
    expect(res.headers.get('x-should-retry')).toBe('false')
    expect(upstream.requests).toHaveLength(0)
    expect(requestLine()).toMatchObject({ level: 'info', status: 504 })
  })

  it('only-if-cached gets a page within stale-while-revalidate, with no upstream call at all', async () => {
    const { t0, text } = await storePage()
    const res = await call(PATH, {
      now: () => t0 + 90 * SECOND,
      init: { headers: { 'cache-control': 'only-if-cached' } },
    })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe(text)
    expect(res.headers.get('cache-status')).toMatch(/detail=stale-while-revalidate$/)
    // `call` waited for any background work: there was none.
    expect(upstream.requests).toHaveLength(0)
  })

  it('only-if-cached on a page past stale-while-revalidate gets a 504 that says the page is stale', async () => {
    const { t0 } = await storePage()
    const res = await call(PATH, {
      now: () => t0 + STALE_IF_ERROR_AGE,
      init: { headers: { 'cache-control': 'only-if-cached' } },
    })
    expect(res.status).toBe(504)
    const { error } = (await res.json()) as ErrorBody
    expect(error.code).toBe('not_cached')
    expect(error.message).toMatch(/copy of this page is 400 seconds old, past the 360 seconds/)
    expect(upstream.requests).toHaveLength(0)
  })

  it('no-cache with only-if-cached gets a 504 that says why', async () => {
    await storePage()
    const res = await call(PATH, {
      init: { headers: { 'cache-control': 'no-cache, only-if-cached' } },
    })
    expect(res.status).toBe(504)
    const { error } = (await res.json()) as ErrorBody
    expect(error.message).toMatch(/both no-cache and only-if-cached/)
    expect(upstream.requests).toHaveLength(0)
  })
})

describe('log levels', () => {
  it('warns when a stale page stands in for a failing upstream', async () => {
    const { t0 } = await storePage()
    upstream.sim.setFault({ kind: 'status', status: 503 })
    const res = await call(PATH, { now: () => t0 + STALE_IF_ERROR_AGE })
    expect(res.status).toBe(200)
    expect(requestLine()).toMatchObject({ level: 'warn', status: 200, upstreamStatus: 503 })
  })

  it('warns when it relays the upstream rate limiting the gateway', async () => {
    upstream.sim.setFault({ kind: 'rate_limit', retryAfter: '30' })
    const res = await call(PATH)
    expect(res.status).toBe(429)
    expect(requestLine()).toMatchObject({ level: 'warn', status: 429, upstreamStatus: 429 })
  })

  it('names the attempts made and the cause of an upstream failure', async () => {
    upstream.sim.setFault({ kind: 'drop' })
    const res = await call(PATH, { env: { ...env, UPSTREAM_MAX_RETRIES: '2' } })
    expect(res.status).toBe(502)
    expect(requestLine()).toMatchObject({
      level: 'error',
      detail: 'upstream network error: TypeError: Network connection lost. (3 attempts)',
    })
  })
})

describe('one upstream call per page under a burst', () => {
  it('answers 50 requests for a cold page, all asking while its fetch is held upstream, with one upstream call', async () => {
    const gate = upstream.sim.hold()
    const fetchers = watchedFetchers()
    const vars = { ...env, PAGE_FETCHER: fetchers.binding }
    const pending = Promise.all(Array.from({ length: 50 }, () => call(PATH, { env: vars })))
    await fetchers.asked(50)
    gate.open()
    const responses = await pending
    expect(upstream.requests).toHaveLength(1)
    const statuses = responses.map((r) => r.headers.get('cache-status'))
    expect(statuses.filter((s) => s?.includes('; stored;'))).toHaveLength(1)
    expect(statuses.filter((s) => s?.includes('; collapsed;'))).toHaveLength(49)
    const bodies = new Set(await Promise.all(responses.map((r) => r.text())))
    expect(bodies.size).toBe(1)
  })

  it('shares an upstream failure too: 20 requests asking while the failing call is held get its 502 from one call', async () => {
    const gate = upstream.sim.hold()
    const fetchers = watchedFetchers()
    upstream.sim.setFault({ kind: 'status', status: 503 })
    const vars = { ...env, PAGE_FETCHER: fetchers.binding }
    const pending = Promise.all(Array.from({ length: 20 }, () => call(PATH, { env: vars })))
    await fetchers.asked(20)
    gate.open()
    for (const res of await pending) expect(res.status).toBe(502)
    expect(upstream.requests).toHaveLength(1)
  })
})

describe('purge', () => {
  it('makes every stored page unreachable with one generation write', async () => {
    const { t0 } = await storePage()
    await env.GROUPS_CACHE.put(GENERATION_KEY, 'purged-1')
    const res = await call(PATH, { now: () => t0 + SECOND })
    expect(res.headers.get('cache-status')).toMatch(/^groups-gateway; fwd=uri-miss/)
    expect(upstream.requests).toHaveLength(1)
  })

  it('reaches a running isolate within its generation TTL', async () => {
    let t = Date.now()
    const app = createGateway({ now: () => t })
    await call(PATH, { app })
    await env.GROUPS_CACHE.put(GENERATION_KEY, 'purged-2')
    t += GENERATION_TTL_MS - 1
    expect((await call(PATH, { app })).headers.get('cache-status')).toMatch(/^groups-gateway; hit/)
    t += 1
    expect((await call(PATH, { app })).headers.get('cache-status')).toMatch(/fwd=uri-miss/)
  })

  it('has an operator endpoint that exists only with OPERATOR_KEY: 401 for a wrong key, 405 for GET, a purge the isolate sees at once', async () => {
    const purge = { method: 'POST' }
    expect((await call('/admin/cache/purge', { key: null, init: purge })).status).toBe(404)

    secrets.push('op-secret-7d3a')
    const withKey = { ...env, OPERATOR_KEY: 'op-secret-7d3a' }
    const app = createGateway()
    await call(PATH, { app, env: withKey })
    const wrong = await call('/admin/cache/purge', { app, env: withKey, init: purge })
    expect(wrong.status).toBe(401)
    expect(
      (await call('/admin/cache/purge', { app, env: withKey, key: null, init: { method: 'GET' } }))
        .status,
    ).toBe(405)
    const ok = await call('/admin/cache/purge', {
      app,
      env: withKey,
      init: { ...purge, headers: { authorization: 'Bearer op-secret-7d3a' } },
    })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ purged: true, generation: expect.any(String) })
    // The isolate that purged sees it at once.
    const after = await call(PATH, { app, env: withKey })
    expect(after.headers.get('cache-status')).toMatch(/fwd=uri-miss/)
  })
})
