import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { CACHE_KEY_PREFIX, cacheKey } from '../../src/pages/page'
import type { PageQuery } from '../../src/upstream/schemas'
import { call, upstream } from '../helpers'

describe('the KV page cache', () => {
  it('shares one entry between equivalent queries', async () => {
    const queries = [
      '',
      '?limit=100',
      '?order=asc',
      '?order=asc&limit=100',
      '?limit=100&order=asc',
      '?limit=0100&unknown=1',
    ]
    const statuses: (string | null)[] = []
    for (const query of queries) {
      statuses.push((await call(`/v1/organization/groups${query}`)).headers.get('cache-status'))
    }
    expect(upstream.requests).toHaveLength(1)
    expect(statuses[0]).toBe('groups-gateway; fwd=uri-miss; fwd-status=200; stored; ttl=60')
    for (const status of statuses.slice(1)) expect(status).toMatch(/^groups-gateway; hit; ttl=/)
    const { keys } = await env.GROUPS_CACHE.list({ prefix: CACHE_KEY_PREFIX })
    expect(keys.map((k) => k.name)).toEqual([`${CACHE_KEY_PREFIX}:0:asc:100:`])
  })

  it('keeps distinct queries apart: each its own upstream call and its own KV entry', async () => {
    const first = upstream.sim.groups[0]?.id as string
    const queries: PageQuery[] = [
      { after: null, limit: 5, order: 'asc' },
      { after: null, limit: 5, order: 'desc' },
      { after: null, limit: 6, order: 'asc' },
      { after: first, limit: 5, order: 'asc' },
    ]
    for (const q of queries) {
      const after = q.after === null ? '' : `&after=${q.after}`
      const res = await call(`/v1/organization/groups?limit=${q.limit}&order=${q.order}${after}`)
      expect(res.headers.get('cache-status')).toMatch(/^groups-gateway; fwd=uri-miss; /)
    }
    expect(upstream.requests).toHaveLength(4)
    const { keys } = await env.GROUPS_CACHE.list({ prefix: CACHE_KEY_PREFIX })
    expect(keys.map((k) => k.name).sort()).toEqual(queries.map((q) => cacheKey('0', q)).sort())
  })

  it('keys stay within KV\u2019s 512-byte limit for the longest valid query', () => {
    const key = cacheKey(Date.now().toString(36), {
      after: 'Z'.repeat(128),
      limit: 1000,
      order: 'desc',
    })
    expect(new TextEncoder().encode(key).length).toBeLessThanOrEqual(512)
  })

  it('serves a page as fresh for CACHE_TTL_SECONDS, then refetches it', async () => {
    const t0 = Date.now()
    const ttl = { ...env, CACHE_TTL_SECONDS: '30' }
    await call('/v1/organization/groups?limit=1', { env: ttl, now: () => t0 })

    const fresh = await call('/v1/organization/groups?limit=1', {
      env: ttl,
      now: () => t0 + 29_000,
    })
    expect(fresh.headers.get('cache-status')).toBe('groups-gateway; hit; ttl=1')
    expect(fresh.headers.get('age')).toBe('29')
    // The whole lifetime beside the age spent, so max-age - Age is what is left (RFC 9111 4.2.3).
    expect(fresh.headers.get('cache-control')).toBe('private, max-age=30')

    // Past stale-while-revalidate too, the page is fetched again before it is served.
    const stale = await call('/v1/organization/groups?limit=1', {
      env: { ...ttl, CACHE_STALE_WHILE_REVALIDATE_SECONDS: '0' },
      now: () => t0 + 30_000,
    })
    expect(stale.headers.get('cache-status')).toBe(
      'groups-gateway; fwd=stale; fwd-status=200; stored; ttl=30',
    )
    expect(stale.headers.get('age')).toBe('0')
    expect(upstream.requests).toHaveLength(2)
  })

  it('stores the page with its fetch time and ETag, kept for the fresh window plus the longest stale window', async () => {
    const t0 = 1_800_000_000_000
    await call('/v1/organization/groups?limit=1', { now: () => t0 })
    const { keys } = await env.GROUPS_CACHE.list({ prefix: CACHE_KEY_PREFIX })
    expect(keys[0]?.metadata).toEqual({
      storedAt: t0,
      etag: expect.stringMatching(/^"[\w-]{22}"$/),
    })
    // Kept for the fresh window plus the longer of the stale windows (60 + 86400 s by default).
    expect(keys[0]?.expiration).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 86_459)
  })

  it('does not cache a page the upstream did not serve', async () => {
    upstream.sim.setFault({ kind: 'status', status: 503, count: 1 })
    const t0 = Date.now()
    expect((await call('/v1/organization/groups?limit=1', { now: () => t0 })).status).toBe(502)
    // Past the 5 s an outage's failure is shared for (see shared-failures.test.ts).
    const next = await call('/v1/organization/groups?limit=1', { now: () => t0 + 6_000 })
    expect(next.headers.get('cache-status')).toBe(
      'groups-gateway; fwd=uri-miss; fwd-status=200; stored; ttl=60',
    )
  })
})
