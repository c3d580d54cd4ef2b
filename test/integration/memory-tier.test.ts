import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { cacheKey } from '../../src/pages/page'
import { call, createGateway, upstream } from '../helpers'

const PATH = '/v1/organization/groups?limit=3'
const KEY = cacheKey('0', { after: null, limit: 3, order: 'asc' })

/** The page cache namespace, counting reads of page keys. */
function countingKv() {
  const reads: string[] = []
  const kv = new Proxy(env.GROUPS_CACHE, {
    get(target, prop) {
      const value = Reflect.get(target, prop)
      if (prop === 'getWithMetadata') {
        return (key: string, type: 'text') => {
          reads.push(key)
          return target.getWithMetadata(key, type)
        }
      }
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { kv, reads }
}

describe('the memory tier in front of KV', () => {
  it('serves a hot page with no KV read', async () => {
    const { kv, reads } = countingKv()
    const app = createGateway()
    const first = await call(PATH, { app, env: { ...env, GROUPS_CACHE: kv } })
    const hot = await call(PATH, { app, env: { ...env, GROUPS_CACHE: kv } })
    expect(hot.headers.get('cache-status')).toMatch(/^groups-gateway; hit; ttl=/)
    expect(await hot.text()).toBe(await first.text())
    expect(hot.headers.get('etag')).toBe(first.headers.get('etag'))
    expect(reads).toEqual([KEY]) // the first request's miss only
  })

  it('reads KV on every hit when turned off', async () => {
    const { kv, reads } = countingKv()
    const app = createGateway()
    const off = { ...env, GROUPS_CACHE: kv, MEMORY_CACHE_MAX_ENTRIES: '0' }
    await call(PATH, { app, env: off })
    await call(PATH, { app, env: off })
    await call(PATH, { app, env: off })
    expect(reads).toHaveLength(3)
  })

  it('obeys the same freshness rules as KV', async () => {
    let t = Date.now()
    const app = createGateway({ now: () => t })
    await call(PATH, { app })
    t += 61_000
    const stale = await call(PATH, { app })
    expect(stale.headers.get('cache-status')).toMatch(/detail=stale-while-revalidate/)
    t += 1_000
    const refreshed = await call(PATH, { app })
    expect(refreshed.headers.get('cache-status')).toBe('groups-gateway; hit; ttl=59')
    expect(upstream.requests).toHaveLength(2)
  })

  it('takes a newer page from KV once its own is stale', async () => {
    let t = Date.now()
    const app = createGateway({ now: () => t })
    await call(PATH, { app })
    // Another isolate refreshed the page 30 s later.
    const newer = {
      text: '{"object":"list","data":[],"has_more":false,"next":null}',
      storedAt: t + 30_000,
    }
    await env.GROUPS_CACHE.put(KEY, newer.text, {
      metadata: { storedAt: newer.storedAt, etag: '"newer"' },
    })
    t += 65_000
    const res = await call(PATH, { app })
    expect(res.headers.get('cache-status')).toBe('groups-gateway; hit; ttl=25')
    expect(await res.text()).toBe(newer.text)
    expect(upstream.requests).toHaveLength(1)
  })
})
