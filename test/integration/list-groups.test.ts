import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { cacheKey } from '../../src/pages/page'
import { call, upstream, upstreamPage } from '../helpers'

describe('GET /v1/organization/groups', () => {
  it.each([
    ['', ''],
    ['?limit=10', '?limit=10'],
    ['?limit=0', '?limit=0'],
    ['?limit=1000', '?limit=1000'],
    ['?order=desc&limit=7', '?order=desc&limit=7'],
    ['?order=asc', '?order=asc'],
  ])('serves the upstream page for %s', async (query, upstreamQuery) => {
    const res = await call(`/v1/organization/groups${query}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await res.json()).toEqual(await upstreamPage(upstreamQuery))
  })

  it('serves the page after a cursor, in both orders', async () => {
    for (const order of ['asc', 'desc']) {
      const first = (await (
        await call(`/v1/organization/groups?limit=5&order=${order}`)
      ).json()) as {
        next: string
      }
      const query = `?limit=5&order=${order}&after=${first.next}`
      const res = await call(`/v1/organization/groups${query}`)
      expect(await res.json()).toEqual(await upstreamPage(query))
    }
  })

  it('serves the upstream bytes unchanged', async () => {
    const res = await call('/v1/organization/groups?limit=3')
    const direct = await upstream.sim.fetch(
      new Request('http://sim/v1/organization/groups?limit=3', {
        headers: { Authorization: `Bearer ${upstream.sim.adminKey}` },
      }),
    )
    expect(await res.text()).toBe(await direct.text())
  })

  it('forwards only after, limit and order, normalized, with the admin key', async () => {
    await call('/v1/organization/groups?order=desc&foo=bar&limit=05&api_key=x')
    expect(upstream.requests).toHaveLength(1)
    const sent = upstream.requests[0] as Request
    expect(new URL(sent.url).search).toBe('?limit=5&order=desc')
    expect(sent.headers.get('authorization')).toBe(`Bearer ${env.OPENAI_ADMIN_KEY}`)
  })

  it('caches a page: a miss, then a hit without an upstream call', async () => {
    const miss = await call('/v1/organization/groups?limit=2')
    expect(miss.headers.get('cache-status')).toBe(
      'groups-gateway; fwd=uri-miss; fwd-status=200; stored; ttl=60',
    )
    const hit = await call('/v1/organization/groups?limit=2')
    expect(hit.headers.get('cache-status')).toMatch(/^groups-gateway; hit; ttl=(59|60)$/)
    expect(await hit.text()).toBe(await miss.text())
    expect(upstream.requests).toHaveLength(1)
    const stored = await env.GROUPS_CACHE.get(
      cacheKey('0', { after: null, limit: 2, order: 'asc' }),
    )
    expect(stored).not.toBeNull()
  })
})
