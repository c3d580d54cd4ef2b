import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MAX_KEPT_QUERIES } from '../../src/http/openapi'
import { ListGroupsQuerySchema } from '../../src/upstream/schemas'
import { call, createGateway, logs, upstream } from '../helpers'

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
}

async function expectBadParam(query: string, param: string, mentions: RegExp) {
  const res = await call(`/v1/organization/groups${query}`)
  expect(res.status).toBe(400)
  expect(res.headers.get('x-request-id')).toBeTruthy()
  const body = (await res.json()) as ErrorBody
  expect(body).toEqual({
    error: { message: expect.any(String), type: 'invalid_request_error', param, code: null },
  })
  expect(body.error.message).toMatch(mentions)
  // A person's sentence, not zod's issue list.
  expect(body.error.message).not.toMatch(/invalid_type|too_big|"path"|\[\s*{/)
  return body
}

describe('query validation', () => {
  it.each(['1e3', '1.5', '-1', 'abc', '', '1001', '+5', ' 5', '0x10', '99999999999999999999'])(
    'refuses limit=%j',
    async (limit) => {
      await expectBadParam(`?limit=${encodeURIComponent(limit)}`, 'limit', /'limit'.*0 to 1000/)
    },
  )

  it.each(['ASC', 'descending', '', 'asc ', 'random'])('refuses order=%j', async (order) => {
    await expectBadParam(`?order=${encodeURIComponent(order)}`, 'order', /'order'.*'asc' or 'desc'/)
  })

  it.each(['', 'a'.repeat(129), 'group 1', 'group.1', 'grp/../x', 'ümlaut', 'a;b'])(
    'refuses after=%j',
    async (after) => {
      await expectBadParam(`?after=${encodeURIComponent(after)}`, 'after', /'after'/)
    },
  )

  it.each([
    ['?limit=1&limit=2', 'limit'],
    ['?order=asc&order=asc', 'order'],
    ['?after=group_a&after=group_b', 'after'],
  ])('refuses a repeated parameter: %s', async (query, param) => {
    await expectBadParam(query, param, /given 2 times/)
  })

  it('echoes a long bad value only in part', async () => {
    const body = await expectBadParam(`?limit=${'9'.repeat(500)}`, 'limit', /…/)
    expect(body.error.message.length).toBeLessThan(250)
  })

  it.each([
    ['a 128-character cursor', `?after=${'a'.repeat(128)}`],
    ['leading zeros', '?limit=0005'],
    ['the bounds', '?limit=0'],
  ])('accepts %s', async (_, query) => {
    const res = await call(`/v1/organization/groups${query}`)
    // An unknown cursor is the upstream's 404: what matters is that validation let it through.
    expect([200, 404]).toContain(res.status)
    expect(upstream.requests).toHaveLength(1)
  })

  it('never calls the upstream or touches the cache for bad input', async () => {
    for (const query of ['?limit=abc', '?order=up', '?after=', '?limit=1&limit=1']) {
      expect((await call(`/v1/organization/groups${query}`)).status).toBe(400)
    }
    expect(upstream.requests).toHaveLength(0)
    expect((await env.GROUPS_CACHE.list()).keys).toHaveLength(0)
  })

  it('ignores unknown parameters and never forwards them', async () => {
    const res = await call('/v1/organization/groups?limit=2&include=secret&Limit=9&user=1')
    expect(res.status).toBe(200)
    expect(new URL((upstream.requests[0] as Request).url).search).toBe('?limit=2&order=asc')
  })
})

describe('validated queries kept per isolate', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  /** One isolate's gateway, and how often its query schema has parsed a query. */
  function watchedGateway() {
    const parse = vi.spyOn(ListGroupsQuerySchema, 'safeParse')
    const app = createGateway()
    const get = (query: string) => call(`/v1/organization/groups${query}`, { app })
    return { parse, get }
  }

  it('parses an accepted query string once: a repeat is answered the same from the kept result, the same parameters in another order are parsed anew', async () => {
    const { parse, get } = watchedGateway()
    const first = await get('?limit=2&order=desc')
    const again = await get('?limit=2&order=desc')
    expect([first.status, again.status]).toEqual([200, 200])
    expect(await again.json()).toEqual(await first.json())
    expect(parse).toHaveBeenCalledTimes(1)
    expect((await get('?order=desc&limit=2')).status).toBe(200)
    expect(parse).toHaveBeenCalledTimes(2)
    // One page, one upstream call: the kept result is the same query.
    expect(upstream.requests.map((r) => new URL(r.url).search)).toEqual(['?limit=2&order=desc'])
  })

  it('never keeps a refusal: a bad query is parsed and refused every time, and a kept good one lets no longer bad one through', async () => {
    const { parse, get } = watchedGateway()
    expect((await get('?limit=5')).status).toBe(200)
    for (const bad of ['?limit=5&limit=6', '?limit=abc', '?limit=abc', '?limit=5&order=up']) {
      expect((await get(bad)).status).toBe(400)
    }
    expect((await get('?limit=5')).status).toBe(200)
    expect(parse).toHaveBeenCalledTimes(5)
    expect(upstream.requests).toHaveLength(1)
  })

  it(`keeps at most ${MAX_KEPT_QUERIES} query strings, none longer than 512 characters: past either it parses again, with the same answers`, async () => {
    const { parse, get } = watchedGateway()
    for (let i = 0; i <= MAX_KEPT_QUERIES; i++)
      expect((await get(`?limit=1&n=${i}`)).status).toBe(200)
    expect(parse).toHaveBeenCalledTimes(MAX_KEPT_QUERIES + 1)
    // The table was full at the last one: emptied, then that one kept, and the first parsed anew.
    expect((await get(`?limit=1&n=${MAX_KEPT_QUERIES}`)).status).toBe(200)
    expect(parse).toHaveBeenCalledTimes(MAX_KEPT_QUERIES + 1)
    expect((await get('?limit=1&n=0')).status).toBe(200)
    expect(parse).toHaveBeenCalledTimes(MAX_KEPT_QUERIES + 2)
    const long = `?limit=1&pad=${'x'.repeat(512)}`
    for (let i = 0; i < 2; i++) expect((await get(long)).status).toBe(200)
    expect(parse).toHaveBeenCalledTimes(MAX_KEPT_QUERIES + 4)
  })
})

describe('unknown routes and methods', () => {
  it.each([
    ['GET', '/docs/assets/swagger-ui-dist/no-such-file.js', 404],
    ['GET', '/docs/assets/', 404],
    ['GET', '/docs/nothing-here', 404],
    ['POST', '/docs/init.js', 404],
    ['POST', '/docs', 405],
    ['DELETE', '/openapi.json', 405],
    ['PUT', '/healthz', 405],
    ['GET', '/v2/organization/groups', 404],
  ])('answers %s %s with %i in the JSON error shape', async (method, path, status) => {
    const res = await call(path, { key: null, init: { method } })
    expect(res.status).toBe(status)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const body = (await res.json()) as { error: Record<string, unknown> }
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type'])
    expect(body.error.code).toBe(status === 404 ? 'unknown_url' : 'method_not_allowed')
  })

  it('answers an unknown path with 404 in the error shape', async () => {
    const res = await call('/v1/organization/users')
    expect(res.status).toBe(404)
    expect(res.headers.get('x-request-id')).toBeTruthy()
    expect(await res.json()).toEqual({
      error: {
        message: 'Invalid URL (GET /v1/organization/users)',
        type: 'invalid_request_error',
        param: null,
        code: 'unknown_url',
      },
    })
  })

  it.each(['POST', 'PUT', 'PATCH', 'DELETE'])('answers %s with 405 and Allow', async (method) => {
    const res = await call('/v1/organization/groups', { init: { method } })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET, HEAD')
    expect(res.headers.get('x-request-id')).toBeTruthy()
    const body = (await res.json()) as ErrorBody
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'method_not_allowed' })
    expect(upstream.requests).toHaveLength(0)
  })

  it('answers HEAD like GET, without a body', async () => {
    const res = await call('/v1/organization/groups?limit=1', { init: { method: 'HEAD' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-status')).toMatch(/^groups-gateway; /)
    expect(await res.text()).toBe('')
  })

  it("makes its own request id always, keeping a client's beside it, never instead: in the answer, the log line and the upstream call", async () => {
    const given = await call('/v1/organization/groups?limit=1', {
      init: { headers: { 'x-request-id': 'partnerB-request-0001' } },
    })
    const id = given.headers.get('x-request-id')
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    expect(given.headers.get('x-client-request-id')).toBe('partnerB-request-0001')
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.event === 'request')
    expect(line).toMatchObject({ requestId: id, clientRequestId: 'partnerB-request-0001' })
    expect(upstream.requests.at(-1)?.headers.get('x-client-request-id')).toBe(id)
    const made = await call('/v1/organization/groups?limit=1')
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(made.headers.get('x-request-id')).not.toBe(id)
    expect(made.headers.get('x-client-request-id')).toBeNull()
  })

  it("drops a client's request id that is not a short plain token", async () => {
    const res = await call('/v1/organization/groups?limit=1', {
      init: { headers: { 'x-request-id': `evil"id ${'x'.repeat(200)}` } },
    })
    expect(res.headers.get('x-client-request-id')).toBeNull()
  })
})
