import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { cacheKey } from '../../src/pages/page'
import { TEST_ADMIN_KEY } from '../constants'
import { call, logs, upstream, upstreamPage } from '../helpers'

const PATH = '/v1/organization/groups?limit=3'
const KEY = cacheKey('0', { after: null, limit: 3, order: 'asc' })

/** Every 8-character piece of the admin key, and the last four a 401 quotes after its prefix. */
const FRAGMENTS = [
  ...Array.from({ length: TEST_ADMIN_KEY.length - 7 }, (_, i) => TEST_ADMIN_KEY.slice(i, i + 8)),
  TEST_ADMIN_KEY.slice(-4),
]

/** The whole request as an echoing server would quote it: method, URL, every header. */
function echo(request: Request): string {
  const headers = [...request.headers].map(([k, v]) => `${k}: ${v}`).join(' | ')
  return `echo: ${request.method} ${request.url} | ${headers}`
}

/** The ways an upstream (or a proxy in front of it) might quote the key it was sent. */
const QUOTES: [string, (request: Request) => string][] = [
  ['the whole request', echo],
  ['the Authorization header', (r) => r.headers.get('authorization') ?? ''],
  ['the bare key', () => TEST_ADMIN_KEY],
  ['the key without its prefix', () => TEST_ADMIN_KEY.slice('sk-admin-'.length)],
  ['an 8-character piece', () => TEST_ADMIN_KEY.slice(20, 28)],
  ['a lowercase piece', () => TEST_ADMIN_KEY.slice(14, 30)],
  ['the mask a 401 uses', () => `sk-admin********${TEST_ADMIN_KEY.slice(-4)}`],
  ['the last four behind a mask', () => `********${TEST_ADMIN_KEY.slice(-4)}`],
]

/** JSON with the key spelled in `\u` escapes: no byte of it, the same string once parsed. */
function escapingKey(value: unknown): string {
  const escaped = [...TEST_ADMIN_KEY]
    .map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .join('')
  return JSON.stringify(value).replaceAll(TEST_ADMIN_KEY, escaped)
}

/** A page with the quote in every string it has, its ids and cursor included where they can be. */
function echoingPage(quote: string) {
  const id = /^[A-Za-z0-9_-]{1,128}$/.test(quote) ? quote : 'group_echo'
  const group = {
    object: 'group',
    id,
    name: quote,
    created_at: 1,
    is_scim_managed: false,
    group_type: quote,
    echo: quote,
  }
  return { object: 'list', data: [group], has_more: true, next: id, echo: quote }
}

/** An upstream that answers `status`, quoting what it was sent in every field and header it has. */
function echoingUpstream(status: number, quoteOf: (request: Request) => string, escaped: boolean) {
  return async (request: Request) => {
    const quote = quoteOf(request)
    const body =
      status === 200
        ? echoingPage(quote)
        : { error: { message: quote, type: quote, param: quote, code: quote }, echo: quote }
    const header = quote.replace(/[^\x20-\x7e]/g, ' ')
    return new Response(escaped ? escapingKey(body) : JSON.stringify(body), {
      status,
      headers: {
        'content-type': 'application/json',
        'x-request-id': header,
        'retry-after': header,
        'retry-after-ms': header,
        'x-should-retry': header,
        'x-echo': header,
        location: header,
      },
    })
  }
}

const STATUSES = [200, 302, 400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504]

describe('an upstream that echoes the admin key', () => {
  it.each(
    STATUSES.flatMap((status) => [
      ...QUOTES.map(([how, quoteOf]) => [status, how, quoteOf, false] as const),
      [status, 'the bare key in JSON escapes', () => TEST_ADMIN_KEY, true] as const,
    ]),
  )(
    'answering %i with %s: no piece of the key reaches the caller or a log line',
    async (status, _, quoteOf, escaped) => {
      upstream.sim.fetch = echoingUpstream(status, quoteOf, escaped)
      const res = await call(PATH)
      expect(upstream.requests).toHaveLength(1)
      const body = await res.text()
      const seen = [
        `${res.status} ${res.statusText}`,
        ...[...res.headers].map(([k, v]) => `${k}: ${v}`),
        body,
        ...logs,
      ].join('\n')
      for (const fragment of FRAGMENTS) expect(seen).not.toContain(fragment)
      // The answer is still the one the status calls for, only without the quote.
      const { error } = JSON.parse(body) as { error: Record<string, string | null> }
      if (status === 200) {
        expect(error.code).toBe('upstream_invalid_response')
        expect(logs.join('\n')).toMatch(/upstream page quotes the admin key/)
      }
      if (status === 400 || status === 404 || status === 422) {
        expect(res.status).toBe(status)
        expect(error).toEqual({
          message: `The upstream API rejected the request (status ${status}).`,
          type: 'invalid_request_error',
          param: null,
          code: null,
        })
      }
    },
  )

  it('relays a 404 quoting only the caller\u2019s own cursor, even one that looks like a piece of the key', async () => {
    // Judging the caller's own words would tell it which cursors hold pieces of the key.
    const after = `group_${TEST_ADMIN_KEY.slice(14, 30)}`
    const res = await call(`/v1/organization/groups?after=${after}`)
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({
      error: {
        message: `No group found with id '${after}'.`,
        type: 'invalid_request_error',
        param: 'after',
        code: null,
      },
    })
  })

  it('relays only a param the gateway sent, and type and code only as identifiers', async () => {
    upstream.sim.fetch = async () =>
      Response.json(
        { error: { message: 'bad', type: 'Invalid Request\r\n', param: 'api_key', code: 'x y' } },
        { status: 400 },
      )
    const res = await call(PATH)
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({
      error: { message: 'bad', type: 'invalid_request_error', param: null, code: null },
    })
  })

  it('logs an upstream request id only when it looks like one', async () => {
    const page = await upstreamPage('?limit=3')
    upstream.sim.fetch = async () =>
      Response.json(page, { headers: { 'x-request-id': 'req id; x' } })
    expect((await call(PATH)).status).toBe(200)
    const line = JSON.parse(logs.find((l) => l.includes('"event":"request"')) as string)
    expect(line.upstreamRequestId).toBeNull()
  })
})

interface Page {
  object: 'list'
  data: { id: string; [field: string]: unknown }[]
  has_more: boolean
  next: string | null
}

const json = (page: Page) => JSON.stringify(page)
const extraGroup = {
  object: 'group',
  id: 'group_extra',
  name: 'Extra',
  created_at: 1,
  is_scim_managed: false,
  group_type: 'group',
}

/** Schema-valid pages that contradict themselves, built from the upstream's real page of 3. */
const INCONSISTENT: [string, (good: Page) => string, RegExp][] = [
  [
    'has_more with next null',
    (p) => json({ ...p, has_more: true, next: null }),
    /has_more, but next is not the last group's id/,
  ],
  [
    'next pointing at the first group',
    (p) => json({ ...p, next: p.data[0]?.id ?? null }),
    /has_more, but next is not the last group's id/,
  ],
  [
    'next not among the ids',
    (p) => json({ ...p, next: 'group_elsewhere' }),
    /has_more, but next is not the last group's id/,
  ],
  [
    'no has_more, with a next elsewhere',
    (p) => json({ ...p, has_more: false, next: p.data[0]?.id ?? null }),
    /next is neither null nor the last group's id/,
  ],
  [
    'has_more with no groups',
    (p) => json({ ...p, data: [], next: null }),
    /has_more with no groups/,
  ],
  [
    'more groups than the limit',
    (p) => json({ ...p, data: [...p.data, extraGroup], next: 'group_extra' }),
    /4 groups for limit 3/,
  ],
  [
    'a next carrying CRLF',
    (p) => json({ ...p, next: `${p.next}\r\nx-injected: 1` }),
    /has_more, but next is not the last group's id/,
  ],
  [
    'an id and next carrying CRLF',
    (p) => {
      const id = `${p.next}\r\n`
      return json({ ...p, data: [...p.data.slice(0, 2), { ...p.data[2], id }], next: id })
    },
    /data\.2\.id is not a cursor the gateway accepts/,
  ],
  [
    'a duplicate top-level key',
    // JSON.parse keeps the last has_more and next; a parser keeping the first sees another page.
    (p) =>
      json({ ...p, has_more: false, next: null }).replace(
        '{',
        `{"has_more":true,"next":${JSON.stringify(p.data[0]?.id)},`,
      ),
    /a key appears twice in one object/,
  ],
  [
    'a duplicate key in a group',
    (p) => json(p).replace('"id":', '"id":"group_first","id":'),
    /a key appears twice in one object/,
  ],
  [
    'a duplicate key spelled in escapes',
    (p) => json(p).replace('"id":', '"\\u0069d":"group_first","id":'),
    /a key appears twice in one object/,
  ],
]

describe('a self-contradicting page', () => {
  const noStale = {
    ...env,
    CACHE_STALE_WHILE_REVALIDATE_SECONDS: '0',
    CACHE_STALE_IF_ERROR_SECONDS: '0',
  }
  const pageKeys = async () =>
    (await env.GROUPS_CACHE.list()).keys.filter((k) => k.name !== 'groups:generation')

  it.each(INCONSISTENT)(
    'refuses %s: 502 upstream_invalid_response, nothing stored, a stored page kept',
    async (_, build, why) => {
      const good = (await upstreamPage('?limit=3')) as Page
      const simulator = upstream.sim.fetch
      const bad = async () =>
        new Response(build(good), { headers: { 'content-type': 'application/json' } })

      upstream.sim.fetch = bad
      const cold = await call(PATH)
      expect(cold.status).toBe(502)
      expect(((await cold.json()) as { error: { code: string } }).error.code).toBe(
        'upstream_invalid_response',
      )
      expect(await pageKeys()).toEqual([])
      expect(logs.join('\n')).toMatch(why)

      // Past the few seconds the refusal answers every caller, the upstream recovers.
      upstream.sim.fetch = simulator
      expect((await call(PATH, { now: () => Date.now() + 10_000 })).status).toBe(200)
      const stored = await env.GROUPS_CACHE.get(KEY)
      expect(stored).not.toBeNull()

      upstream.sim.fetch = bad
      const later = await call(PATH, { env: noStale, now: () => Date.now() + 120_000 })
      expect(later.status).toBe(502)
      expect(await env.GROUPS_CACHE.get(KEY)).toBe(stored)
    },
  )

  it.each([
    [
      'strings holding quotes, colons and braces',
      (p: Page) =>
        json({
          ...p,
          data: p.data.map((g, i) => ({
            ...g,
            name: ['"id": "x"', 'a\\": {"b": 1}', '\\\\":'][i],
          })),
        }),
    ],
    [
      'space around its colons',
      (p: Page) => JSON.stringify(p, null, '\t').replaceAll('":', '" \n:'),
    ],
    ['no has_more, next the last id', (p: Page) => json({ ...p, has_more: false })],
    ['no has_more, next null', (p: Page) => json({ ...p, has_more: false, next: null })],
    [
      'a field the schema does not know, nested',
      (p: Page) => JSON.stringify({ ...p, extra: { id: 'x', data: [{ id: 'y' }] } }),
    ],
  ])('serves and stores a consistent page with %s', async (_, build) => {
    const text = build((await upstreamPage('?limit=3')) as Page)
    upstream.sim.fetch = async () =>
      new Response(text, { headers: { 'content-type': 'application/json' } })
    const res = await call(PATH)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe(text)
    expect(await env.GROUPS_CACHE.get(KEY)).toBe(text)
  })
})
