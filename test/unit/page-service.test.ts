import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors'
import type {
  FetchPageRequest,
  FetchPageResult,
  PageDeps,
  PageSettings,
  PageSource,
} from '../../src/pages/deps'
import type { RequestDirectives } from '../../src/pages/directives'
import { CacheGeneration, GENERATION_KEY } from '../../src/pages/generation'
import { MemoryPages } from '../../src/pages/memory'
import { CACHE_KEY_PREFIX, cacheKey } from '../../src/pages/page'
import { cacheStatus, getPage, type ServedPage } from '../../src/pages/service'
import type { PageQuery } from '../../src/upstream/schemas'
import { failingKv, logs } from '../helpers'

/** A query of its own per use, so no page of another case is found. */
const query = (): PageQuery => ({ after: `group_${crypto.randomUUID()}`, limit: 5, order: 'asc' })
const PLAIN: RequestDirectives = { noCache: false, onlyIfCached: false }
const SETTINGS: PageSettings = {
  freshness: { ttlSeconds: 60, staleWhileRevalidateSeconds: 300, staleIfErrorSeconds: 3_600 },
  upstream: {
    baseUrl: 'https://upstream.test/v1',
    timeoutMs: 1_000,
    maxRetries: 2,
    budgetMs: 5_000,
    retryBaseMs: 5,
  },
  memory: { maxEntries: 10, maxBytes: 1_000_000 },
  prewarm: { maxPages: 5, flushMs: 0 },
}
const T0 = 1_800_000_000_000

/**
 * The page service with plain dependencies: real local KV, a fresh memory tier and generation, and
 * a page source that answers from a script and records what it was asked.
 */
function service(
  answers: Array<'ok' | 502 | 404 | 'misconfigured'> = ['ok'],
  kv: KVNamespace = env.GROUPS_CACHE,
) {
  const asked: FetchPageRequest[] = []
  const pending: Promise<unknown>[] = []
  let n = 0
  const source: PageSource = {
    async fetchPage(_key, req) {
      asked.push(req)
      const answer = answers[Math.min(n++, answers.length - 1)] ?? 'ok'
      if (answer === 'misconfigured') {
        throw new AppError('gateway_misconfigured', {
          detail: 'The OPENAI_ADMIN_KEY secret is not set',
        })
      }
      if (answer === 'ok') {
        const body = `{"object":"list","data":[],"has_more":false,"next":null,"n":${n}}`
        return {
          ok: true,
          page: { body, storedAt: req.now, etag: `"etag-${n}"` },
          leader: true,
          trace: { status: 200, outcome: 'response' },
        } satisfies FetchPageResult
      }
      const kind = answer === 404 ? 'upstream_not_found' : 'upstream_error'
      const error = new AppError(kind, { message: 'no' }).toJSON()
      return { ok: false, error, trace: { status: answer, outcome: 'response' } }
    },
  }
  const deps: PageDeps = {
    settings: SETTINGS,
    kv,
    state: {
      memory: new MemoryPages(),
      generation: new CacheGeneration(),
      refreshing: new Map(),
      now: () => T0,
    },
    source,
    waitUntil: (p) => pending.push(p),
    requestId: 'req-unit',
    countDemand: () => {},
    report: () => {},
  }
  const settle = () => Promise.all(pending.splice(0))
  return { deps, asked, settle }
}

/** What the page's `Cache-Status` says, without the cache's name. */
const status = (served: ServedPage) =>
  cacheStatus(served.outcome, served.page.prewarmed).replace('groups-gateway; ', '')

async function bodyOf(page: { body: string | Uint8Array }) {
  return typeof page.body === 'string' ? page.body : new TextDecoder().decode(page.body)
}

describe('the page service', () => {
  it('fetches a page it does not hold once, keeps it in memory and KV, then serves it as a hit', async () => {
    const QUERY = query()
    const { deps, asked, settle } = service()
    const miss = await getPage(deps, QUERY, PLAIN, T0)
    expect(status(miss)).toBe('fwd=uri-miss; fwd-status=200; stored; ttl=60')
    await settle()
    const stored = await env.GROUPS_CACHE.getWithMetadata(cacheKey('0', QUERY), 'text')
    expect(stored.value).toBe(await bodyOf(miss.page))
    expect(stored.metadata).toEqual({ storedAt: T0, etag: '"etag-1"' })

    const hit = await getPage(deps, QUERY, PLAIN, T0 + 10_000)
    expect(status(hit)).toBe('hit; ttl=50')
    expect(hit.page.body).toBeInstanceOf(Uint8Array)
    expect(asked).toHaveLength(1)
  })

  it('serves a page within stale-while-revalidate at once and refreshes it in the background', async () => {
    const QUERY = query()
    const { deps, asked, settle } = service()
    await getPage(deps, QUERY, PLAIN, T0)
    await settle()
    const stale = await getPage(deps, QUERY, PLAIN, T0 + 90_000)
    expect(status(stale)).toBe('hit; ttl=-30; detail=stale-while-revalidate')
    expect(stale.page.storedAt).toBe(T0)
    await settle()
    expect(asked).toHaveLength(2)
    expect(asked[1]).toMatchObject({ seenStoredAt: T0, fresh: false })
    // One attempt only: a stale page is already in hand.
    expect(asked[1]?.upstream.maxRetries).toBe(0)
    const fresh = await getPage(deps, QUERY, PLAIN, T0 + 91_000)
    expect(status(fresh)).toBe('hit; ttl=59')
  })

  it('refreshes a page in the background once per isolate, however many requests see it stale', async () => {
    const QUERY = query()
    const { deps, asked, settle } = service()
    await getPage(deps, QUERY, PLAIN, T0)
    await settle()
    for (let i = 0; i < 5; i++) await getPage(deps, QUERY, PLAIN, T0 + 90_000 + i)
    expect(asked).toHaveLength(2)
    await settle()
    // Once it is done, the next stale moment may refresh again.
    await getPage(deps, QUERY, PLAIN, T0 + 200_000)
    await settle()
    expect(asked).toHaveLength(3)
  })

  it('logs a background refresh that could not run, and still serves the stale page', async () => {
    const QUERY = query()
    const { deps, settle } = service(['ok', 'misconfigured'])
    await getPage(deps, QUERY, PLAIN, T0)
    await settle()
    const stale = await getPage(deps, QUERY, PLAIN, T0 + 90_000)
    expect(status(stale)).toMatch(/detail=stale-while-revalidate$/)
    await settle()
    const line = logs.find((l) => l.includes('background_refresh_failed'))
    expect(JSON.parse(line as string)).toMatchObject({
      level: 'warn',
      requestId: 'req-unit',
      error: 'The OPENAI_ADMIN_KEY secret is not set',
    })
  })

  it('stands in a page within stale-if-error for an upstream failure, but never for a refusal', async () => {
    const QUERY = query()
    const failing = service(['ok', 502])
    await getPage(failing.deps, QUERY, PLAIN, T0)
    await failing.settle()
    const rescued = await getPage(failing.deps, QUERY, PLAIN, T0 + 600_000)
    expect(status(rescued)).toBe('fwd=stale; fwd-status=502; ttl=-540; detail=stale-if-error')
    expect(rescued.page.storedAt).toBe(T0)

    const refused = query()
    const refusing = service(['ok', 404])
    await getPage(refusing.deps, refused, PLAIN, T0)
    await refusing.settle()
    await expect(getPage(refusing.deps, refused, PLAIN, T0 + 600_000)).rejects.toMatchObject({
      status: 404,
    })
  })

  it('answers only-if-cached on a miss with 504 not_cached, never from the source', async () => {
    const QUERY = query()
    const { deps, asked } = service()
    await expect(
      getPage(deps, QUERY, { noCache: false, onlyIfCached: true }, T0),
    ).rejects.toMatchObject({ status: 504, body: { error: { code: 'not_cached' } } })
    expect(asked).toHaveLength(0)
  })

  it('goes to the source for no-cache even with a fresh page in hand', async () => {
    const QUERY = query()
    const { deps, asked, settle } = service()
    await getPage(deps, QUERY, PLAIN, T0)
    await settle()
    const res = await getPage(deps, QUERY, { noCache: true, onlyIfCached: false }, T0 + 1_000)
    expect(status(res)).toMatch(/^fwd=request; fwd-status=200; stored/)
    expect(asked[1]).toMatchObject({ fresh: true })
    // Its KV write ends before the test does, not in the next test's storage.
    await settle()
  })

  it('neither reads nor stores pages when the cache generation cannot be known', async () => {
    const QUERY = query()
    const kv = failingKv('generation-read')
    const { deps, asked, settle } = service(['ok'], kv)
    const first = await getPage(deps, QUERY, PLAIN, T0)
    expect(status(first)).toBe('fwd=uri-miss; fwd-status=200; detail=cache-unavailable; ttl=60')
    await settle()
    // Not kept in memory either: the next request goes to the source again.
    await getPage(deps, QUERY, PLAIN, T0 + 1_000)
    await settle()
    expect(asked).toHaveLength(2)
    expect(kv.readKeys).toEqual([GENERATION_KEY, GENERATION_KEY])
    const { keys } = await env.GROUPS_CACHE.list({ prefix: CACHE_KEY_PREFIX })
    expect(keys.filter((k) => k.name.endsWith(`:${QUERY.after}`))).toEqual([])
  })
})
