import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { call, logs, upstream } from '../helpers'

/**
 * A failure is shared per page for a short time, as a page is: the upstream sees a bounded number
 * of calls per page per period, whatever partners send. Every figure below is upstream calls, as
 * the fetch spy in test/setup.ts counts them. The gateway clock is injected; the windows are the
 * ones the README states (a refused query: the fresh TTL, 60 s; an outage: 5 s, or the upstream's
 * Retry-After up to 60 s).
 */

const SECOND = 1000
const PAGE = '/v1/organization/groups?limit=3'
const UNKNOWN_CURSOR = '/v1/organization/groups?after=group_gone&limit=3'
/** Retries on, as in production (2), with the tests' short backoff. */
const RETRYING = { ...env, UPSTREAM_MAX_RETRIES: '2', UPSTREAM_TIMEOUT_MS: '100' }
const NO_CACHE = { headers: { 'cache-control': 'no-cache' } }
/** Past fresh (60 s) and stale-while-revalidate (300 s), within stale-if-error (1 day). */
const STALE_IF_ERROR_AGE = 400 * SECOND

/** The request log lines of the test so far, parsed. */
function requestLines(): Record<string, unknown>[] {
  return logs.filter((l) => l.includes('"event":"request"')).map((l) => JSON.parse(l))
}

describe('a refused query (the upstream answers 404 about the cursor)', () => {
  it('answers 30 requests within the window with 1 upstream call, then asks again', async () => {
    const t0 = Date.now()
    const responses: Response[] = []
    for (let i = 0; i < 30; i++) {
      responses.push(await call(UNKNOWN_CURSOR, { now: () => t0 + i * SECOND }))
    }
    // Before: 30 calls, one per request.
    expect(upstream.requests).toHaveLength(1)
    const bodies = new Set(await Promise.all(responses.map((r) => r.text())))
    expect(bodies.size).toBe(1)
    for (const res of responses) {
      expect(res.status).toBe(404)
      expect(res.headers.get('x-should-retry')).toBe('false')
    }
    expect(responses[0]?.headers.get('cache-status')).toBe(
      'groups-gateway; fwd=uri-miss; fwd-status=404',
    )
    for (const res of responses.slice(1)) {
      expect(res.headers.get('cache-status')).toBe(
        'groups-gateway; fwd=uri-miss; fwd-status=404; collapsed; detail=failure-shared',
      )
    }
    // The log line says no upstream call was made for a shared failure.
    const lines = requestLines()
    expect(lines[0]).toMatchObject({ upstreamStatus: 404, upstreamOutcome: 'response' })
    expect(lines.at(-1)).toMatchObject({
      status: 404,
      cache: expect.stringContaining('detail=failure-shared'),
      upstreamStatus: null,
      upstreamOutcome: null,
      upstreamMs: null,
      upstreamRequestId: null,
    })

    // Once the window (the fresh TTL, 60 s) has passed, the upstream is asked again.
    await call(UNKNOWN_CURSOR, { now: () => t0 + 61 * SECOND })
    expect(upstream.requests).toHaveLength(2)
  })

  it('lets no-cache ask again only once a second, as for a page', async () => {
    const t0 = Date.now()
    for (let i = 0; i < 10; i++) {
      await call(UNKNOWN_CURSOR, { init: NO_CACHE, now: () => t0 + i * 90 })
    }
    // Before: 10 calls.
    expect(upstream.requests).toHaveLength(1)
    const res = await call(UNKNOWN_CURSOR, { init: NO_CACHE, now: () => t0 + 1_500 })
    expect(res.status).toBe(404)
    expect(upstream.requests).toHaveLength(2)
  })
})

describe('an outage (the upstream answers 503)', () => {
  it('answers 10 concurrent cold requests with one retried fetch (3 calls), and makes no more within the window', async () => {
    upstream.sim.setFault({ kind: 'status', status: 503 })
    const t0 = Date.now()
    const burst = await Promise.all(
      Array.from({ length: 10 }, () => call(PAGE, { env: RETRYING, now: () => t0 })),
    )
    // The burst overlaps one fetch: 3 calls before the change too.
    expect(upstream.requests).toHaveLength(3)
    for (const res of burst) expect(res.status).toBe(502)

    // Plain and no-cache requests alike, for the next 4 seconds: the same failure, no call.
    const followUps: Response[] = []
    for (let i = 1; i <= 8; i++) {
      const init = i % 2 === 0 ? NO_CACHE : {}
      followUps.push(await call(PAGE, { env: RETRYING, init, now: () => t0 + i * 500 }))
    }
    // Before: 3 more calls per request, 24 here (27 in all).
    expect(upstream.requests).toHaveLength(3)
    for (const res of followUps) {
      expect(res.status).toBe(502)
      expect(await res.json()).toMatchObject({ error: { code: 'upstream_error' } })
      expect(res.headers.get('x-should-retry')).toBe('true')
      expect(res.headers.get('cache-status')).toMatch(
        /^groups-gateway; fwd=(uri-miss|request); fwd-status=503; collapsed; detail=failure-shared$/,
      )
    }

    // Past the window (5 s from the failure), one new retried fetch.
    const later = await call(PAGE, { env: RETRYING, now: () => t0 + 6 * SECOND })
    expect(later.status).toBe(502)
    expect(upstream.requests).toHaveLength(6)
  })

  it('holds a 429 for the upstream’s Retry-After', async () => {
    upstream.sim.setFault({ kind: 'rate_limit', retryAfter: '20' })
    const t0 = Date.now()
    expect((await call(PAGE, { now: () => t0 })).status).toBe(429)
    for (const s of [2, 6, 12, 19]) {
      const res = await call(PAGE, { now: () => t0 + s * SECOND })
      expect(res.status).toBe(429)
      expect(res.headers.get('retry-after')).toBe('20')
    }
    // Before: 5 calls.
    expect(upstream.requests).toHaveLength(1)
    await call(PAGE, { now: () => t0 + 21 * SECOND })
    expect(upstream.requests).toHaveLength(2)
  })

  it('still gives a caller holding a page within stale-if-error that page, with no upstream call', async () => {
    const t0 = Date.now()
    const stored = await call(PAGE, { now: () => t0 })
    const text = await stored.text()
    upstream.requests.length = 0
    upstream.sim.setFault({ kind: 'status', status: 503 })
    const t = t0 + STALE_IF_ERROR_AGE
    // A no-cache caller (no page to fall back on) meets the outage with a retried fetch...
    expect((await call(PAGE, { env: RETRYING, init: NO_CACHE, now: () => t })).status).toBe(502)
    expect(upstream.requests).toHaveLength(3)
    // ...and a plain caller a second later gets its stale page from the shared failure.
    const res = await call(PAGE, { env: RETRYING, now: () => t + SECOND })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe(text)
    expect(res.headers.get('cache-status')).toBe(
      'groups-gateway; fwd=stale; fwd-status=503; ttl=-341; detail=stale-if-error',
    )
    // Before: 1 more call (the stale-page caller's own single attempt).
    expect(upstream.requests).toHaveLength(3)
  })

  it('never hands a caller that asked for retries a failure made with one attempt', async () => {
    const t0 = Date.now()
    await call(PAGE, { now: () => t0 })
    upstream.requests.length = 0
    upstream.sim.setFault({ kind: 'status', status: 503 })
    const t = t0 + STALE_IF_ERROR_AGE
    // A caller with a stale page makes one attempt, and serves its page.
    expect((await call(PAGE, { env: RETRYING, now: () => t })).status).toBe(200)
    expect(upstream.requests).toHaveLength(1)
    // A caller with nothing to fall back on asked for 2 retries: it makes its own fetch...
    expect(
      (await call(PAGE, { env: RETRYING, init: NO_CACHE, now: () => t + SECOND })).status,
    ).toBe(502)
    expect(upstream.requests).toHaveLength(4)
    // ...whose failure, made with as many attempts, answers the next such caller.
    const next = await call(PAGE, { env: RETRYING, init: NO_CACHE, now: () => t + 2 * SECOND })
    expect(next.status).toBe(502)
    expect(upstream.requests).toHaveLength(4)
  })

  it('forgets the failure once a fetch succeeds', async () => {
    upstream.sim.setFault({ kind: 'status', status: 503, count: 1 })
    const t0 = Date.now()
    expect((await call(PAGE, { now: () => t0 })).status).toBe(502)
    // A caller that asked for more retries than the shared failure had fetches, and succeeds.
    expect((await call(PAGE, { env: RETRYING, now: () => t0 + SECOND })).status).toBe(200)
    const res = await call(PAGE, { init: NO_CACHE, now: () => t0 + 2_500 })
    expect(res.status).toBe(200)
    expect(upstream.requests).toHaveLength(3)
  })
})
