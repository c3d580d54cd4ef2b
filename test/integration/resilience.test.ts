import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { Fault } from '../../simulator/upstream'
import { GENERATION_KEY, GENERATION_TTL_MS } from '../../src/pages/generation'
import { CACHE_KEY_PREFIX, cacheKey } from '../../src/pages/page'
import { call, createGateway, failingKv, logs, secrets, upstream } from '../helpers'

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

const FAST = { ...env, UPSTREAM_TIMEOUT_MS: '100' }

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

  it('waits for a shared, retrying fetch no longer than one attempt before serving the page', async () => {
    const { t0, text } = await storePage()
    upstream.sim.setFault({ kind: 'hang' })
    const slow = {
      ...env,
      UPSTREAM_TIMEOUT_MS: '150',
      UPSTREAM_MAX_RETRIES: '5',
      UPSTREAM_BUDGET_MS: '5000',
    }
    // A cold caller with no page starts a fetch that will retry for seconds...
    const cold = call('/v1/organization/groups?limit=3', {
      env: slow,
      init: { headers: { 'cache-control': 'no-cache' } },
    })
    await new Promise((r) => setTimeout(r, 20))
    // ...and a caller with a stale page joins it, but serves its page after one attempt's time.
    const started = Date.now()
    const res = await call(PATH, { env: slow, now: () => t0 + STALE_IF_ERROR_AGE })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe(text)
    expect(Date.now() - started).toBeLessThan(1_500)
    upstream.sim.setFault(null)
    await cold
  })

  it('stops serving the page once it is older than stale-if-error', async () => {
    const { t0 } = await storePage()
    upstream.sim.setFault({ kind: 'status', status: 503 })
    const res = await call(PATH, { now: () => t0 + 60 * SECOND + 86_400 * SECOND })
    expect(res.status).toBe(502)
  })
})

describe('KV faults never fail a request', () => {
  it('a read failure with nothing stored: served from the upstream', async () => {
    const res = await call(PATH, { env: { ...env, GROUPS_CACHE: failingKv('read') } })
    expect(res.status).toBe(200)
    expect(logs.join('\n')).toMatch(/kv_generation_read_failed/)
  })

  it('a read failure with a stale page stored: counts as a miss, served from the upstream', async () => {
    const { t0 } = await storePage()
    const res = await call(PATH, {
      env: { ...env, GROUPS_CACHE: failingKv('read') },
      now: () => t0 + STALE_IF_ERROR_AGE,
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-status')).toMatch(/^groups-gateway; fwd=uri-miss; fwd-status=200/)
  })

  it('an unreadable cache generation: served from the upstream, nothing read or stored', async () => {
    const { t0 } = await storePage()
    const res = await call(PATH, {
      env: { ...env, GROUPS_CACHE: failingKv('read') },
      now: () => t0 + 1_000,
    })
    expect(res.status).toBe(200)
    // A page from before a purge could come back under a guessed generation: no cache at all.
    expect(res.headers.get('cache-status')).toMatch(/detail=cache-unavailable|collapsed/)
  })

  it('a write 429 with nothing stored: served, not stored', async () => {
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

  it('retries a 5xx and succeeds', async () => {
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

  it('keeps all attempts within the budget', async () => {
    upstream.sim.setFault({ kind: 'hang' })
    const started = Date.now()
    const res = await call(PATH, {
      env: {
        ...env,
        UPSTREAM_MAX_RETRIES: '10',
        UPSTREAM_TIMEOUT_MS: '100',
        UPSTREAM_BUDGET_MS: '300',
      },
    })
    expect(res.status).toBe(504)
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(upstream.requests.length).toBeLessThanOrEqual(4)
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

  it('refreshes a page at most once at a time', async () => {
    const { t0 } = await storePage()
    upstream.sim.latencyMs = 30
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => call(PATH, { now: () => t0 + 61 * SECOND })),
    )
    for (const res of responses)
      expect(res.headers.get('cache-status')).toMatch(/stale-while-revalidate/)
    expect(upstream.requests).toHaveLength(1)
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

  it('shares a no-cache fetch made this very second instead of calling the upstream again', async () => {
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

  it('max-age=N requests for a page too old share one fetch, as no-cache requests do', async () => {
    const { t0 } = await storePage()
    upstream.sim.latencyMs = 30
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        call(PATH, {
          init: { headers: { 'cache-control': 'max-age=1' } },
          now: () => t0 + 3 * SECOND,
        }),
      ),
    )
    for (const res of responses) expect(res.headers.get('age')).toBe('0')
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
  it('answers 50 concurrent requests for a cold page with one upstream call', async () => {
    upstream.sim.latencyMs = 50
    const responses = await Promise.all(Array.from({ length: 50 }, () => call(PATH)))
    expect(upstream.requests).toHaveLength(1)
    const statuses = responses.map((r) => r.headers.get('cache-status'))
    expect(statuses.filter((s) => s?.includes('; stored;'))).toHaveLength(1)
    expect(statuses.filter((s) => s?.includes('; collapsed;'))).toHaveLength(49)
    const bodies = new Set(await Promise.all(responses.map((r) => r.text())))
    expect(bodies.size).toBe(1)
  })

  it('shares an upstream failure too, instead of stampeding', async () => {
    upstream.sim.latencyMs = 50
    upstream.sim.setFault({ kind: 'status', status: 503 })
    const responses = await Promise.all(Array.from({ length: 20 }, () => call(PATH)))
    for (const res of responses) expect(res.status).toBe(502)
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

  it('has an operator endpoint that exists only with OPERATOR_KEY', async () => {
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
