import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import {
  type FetchPageRequest,
  type FetchPageResult,
  pageFetcherSource,
} from '../../src/pages/deps'
import { TEST_UPSTREAM_BASE_URL } from '../constants'
import { upstream } from '../helpers'

/** A request as the page service sends it, for the simulator behind the fetch spy. */
function request(now: number, extra: Partial<FetchPageRequest> = {}): FetchPageRequest {
  return {
    query: { after: null, limit: 3, order: 'desc' },
    upstream: {
      baseUrl: TEST_UPSTREAM_BASE_URL,
      timeoutMs: 1_000,
      maxRetries: 0,
      budgetMs: 2_000,
      retryBaseMs: 5,
    },
    requestId: 'req-do',
    now,
    policy: { ttlSeconds: 60, staleWhileRevalidateSeconds: 300, staleIfErrorSeconds: 3_600 },
    seenStoredAt: null,
    fresh: false,
    ...extra,
  }
}

/** The Durable Object for a key of its own, called over RPC as the page source does. */
function fetcher() {
  const stub = env.PAGE_FETCHER.get(env.PAGE_FETCHER.idFromName(crypto.randomUUID()))
  return (req: FetchPageRequest) => stub.fetchPage(req) as Promise<FetchPageResult>
}

describe('the page fetcher (Durable Object)', () => {
  it('makes one upstream call for concurrent callers, and names exactly one leader', async () => {
    const fetchPage = fetcher()
    const now = Date.now()
    const results = await Promise.all(Array.from({ length: 20 }, () => fetchPage(request(now))))
    expect(upstream.requests).toHaveLength(1)
    expect(results.every((r) => r.ok)).toBe(true)
    expect(results.filter((r) => r.ok && r.leader)).toHaveLength(1)
    // Only the leader's result carries the upstream call's trace, for its log line.
    expect(results.filter((r) => r.trace !== null)).toHaveLength(1)
  })

  it('hands a page fetched moments ago to a late caller, but never one no newer than its own', async () => {
    const fetchPage = fetcher()
    const now = Date.now()
    const first = await fetchPage(request(now))
    if (!first.ok) throw new Error('expected a page')
    const late = await fetchPage(request(now + 5_000))
    expect(late).toMatchObject({ ok: true, leader: false, page: { storedAt: now } })
    expect(upstream.requests).toHaveLength(1)

    const holder = await fetchPage(request(now + 6_000, { seenStoredAt: now }))
    expect(holder).toMatchObject({ ok: true, leader: true, page: { storedAt: now + 6_000 } })
    expect(upstream.requests).toHaveLength(2)
  })

  it('shares a no-cache fetch only within a second of the last one', async () => {
    const fetchPage = fetcher()
    const now = Date.now()
    await fetchPage(request(now))
    await fetchPage(request(now + 500, { fresh: true }))
    expect(upstream.requests).toHaveLength(1)
    await fetchPage(request(now + 1_500, { fresh: true }))
    expect(upstream.requests).toHaveLength(2)
  })

  it('hands a max-age=N caller a fresh page no older than N, and fetches for one that is older', async () => {
    const fetchPage = fetcher()
    const now = Date.now()
    await fetchPage(request(now))
    const young = await fetchPage(request(now + 5_000, { fresh: true, maxAgeSeconds: 10 }))
    expect(young).toMatchObject({ ok: true, leader: false, page: { storedAt: now } })
    expect(upstream.requests).toHaveLength(1)
    const old = await fetchPage(request(now + 5_000, { fresh: true, maxAgeSeconds: 2 }))
    expect(old).toMatchObject({ ok: true, leader: true, page: { storedAt: now + 5_000 } })
    expect(upstream.requests).toHaveLength(2)
  })

  it('answers with the last outage failure for 5 s, and a 429 for as long as its Retry-After', async () => {
    const fetchPage = fetcher()
    upstream.sim.setFault({ kind: 'status', status: 503 })
    const now = Date.now()
    const first = await fetchPage(request(now))
    expect(first).toMatchObject({ ok: false, error: { status: 502 } })
    expect(first).not.toHaveProperty('shared')
    const later = await fetchPage(request(now + 4_000, { fresh: true }))
    expect(later).toMatchObject({
      ok: false,
      error: { status: 502 },
      trace: null,
      shared: { upstreamStatus: 503 },
    })
    expect(upstream.requests).toHaveLength(1)
    upstream.sim.setFault({ kind: 'rate_limit', retryAfterMs: '8000' })
    expect(await fetchPage(request(now + 6_000))).toMatchObject({ error: { status: 429 } })
    expect(upstream.requests).toHaveLength(2)
    expect(await fetchPage(request(now + 13_000))).toMatchObject({ shared: {} })
    expect(upstream.requests).toHaveLength(2)
    upstream.sim.setFault(null)
    expect(await fetchPage(request(now + 15_000))).toMatchObject({ ok: true, leader: true })
  })

  it('shares a failure among concurrent callers, as plain data', async () => {
    const fetchPage = fetcher()
    upstream.sim.setFault({ kind: 'status', status: 503 })
    const now = Date.now()
    const results = await Promise.all(Array.from({ length: 5 }, () => fetchPage(request(now))))
    expect(upstream.requests).toHaveLength(1)
    for (const r of results) {
      expect(r).toMatchObject({
        ok: false,
        error: { status: 502, body: { error: { code: 'upstream_error' } } },
      })
    }
    // All but the caller whose call it was are told it was shared.
    expect(results.filter((r) => !r.ok && r.shared === undefined)).toHaveLength(1)
  })

  it('never hands a single-attempt failure to a caller that asked for retries', async () => {
    const fetchPage = fetcher()
    upstream.sim.setFault({ kind: 'status', status: 503, count: 1 })
    const now = Date.now()
    const retrying = { ...request(now).upstream, maxRetries: 2 }
    const [once, patient] = await Promise.all([
      fetchPage(request(now, { seenStoredAt: now - 400_000 })),
      fetchPage(request(now, { upstream: retrying })),
    ])
    expect(once.ok).toBe(false)
    expect(patient).toMatchObject({ ok: true, leader: true })
    expect(upstream.requests).toHaveLength(2)
  })
})

describe('the page fetcher source', () => {
  const failingOnce = (error: Error & { retryable?: boolean; overloaded?: boolean }) => {
    let calls = 0
    const namespace = {
      idFromName: (name: string) => env.PAGE_FETCHER.idFromName(name),
      get: () => ({
        fetchPage: async (req: FetchPageRequest) => {
          calls++
          if (calls === 1) throw error
          return {
            ok: true,
            page: { body: '{}', storedAt: req.now, etag: '"e"' },
            leader: true,
            trace: null,
          }
        },
      }),
    }
    const source = pageFetcherSource({
      ...env,
      PAGE_FETCHER: namespace as unknown as Env['PAGE_FETCHER'],
    })
    return { source, calls: () => calls }
  }

  it('retries a call the platform marks retryable, once', async () => {
    const { source, calls } = failingOnce(Object.assign(new Error('reset'), { retryable: true }))
    expect((await source.fetchPage('k', request(Date.now()))).ok).toBe(true)
    expect(calls()).toBe(2)
  })

  it.each([
    ['not retryable', Object.assign(new Error('broken'), { retryable: false })],
    ['overloaded', Object.assign(new Error('overloaded'), { retryable: true, overloaded: true })],
  ])('does not retry a call that failed %s', async (_, error) => {
    const { source, calls } = failingOnce(error)
    const result = await source.fetchPage('k', request(Date.now()))
    expect(result).toMatchObject({ ok: false, error: { status: 502 } })
    expect(calls()).toBe(1)
  })
})
