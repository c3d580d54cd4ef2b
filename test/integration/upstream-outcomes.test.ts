import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { cacheKey } from '../../src/pages/page'
import { call, failingKv, logs, upstream } from '../helpers'

const PATH = '/v1/organization/groups?limit=3'
const KEY = cacheKey('0', { after: null, limit: 3, order: 'asc' })

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
}

async function errorOf(res: Response): Promise<ErrorBody['error']> {
  const body = (await res.json()) as ErrorBody
  expect(Object.keys(body)).toEqual(['error'])
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type'])
  return body.error
}

describe('upstream outcomes', () => {
  it('relays an upstream 404 about the query with its message and param, uncached', async () => {
    const res = await call('/v1/organization/groups?after=group_doesnotexist')
    expect(res.status).toBe(404)
    expect(await errorOf(res)).toEqual({
      message: "No group found with id 'group_doesnotexist'.",
      type: 'invalid_request_error',
      param: 'after',
      code: null,
    })
    expect((await env.GROUPS_CACHE.list()).keys).toHaveLength(0)
  })

  it.each([400, 422])('relays an upstream %i with its message and param', async (status) => {
    upstream.sim.fetch = async () =>
      Response.json(
        {
          error: {
            message: `upstream says ${status}`,
            type: 'invalid_request_error',
            param: 'limit',
            code: 'x',
          },
        },
        { status },
      )
    const res = await call(PATH)
    expect(res.status).toBe(status)
    expect(await errorOf(res)).toEqual({
      message: `upstream says ${status}`,
      type: 'invalid_request_error',
      param: 'limit',
      code: 'x',
    })
  })

  it('never relays an upstream 401, which quotes the key: 502 with a generic message', async () => {
    upstream.sim.setFault({ kind: 'unauthorized' })
    const res = await call(PATH)
    expect(res.status).toBe(502)
    const error = await errorOf(res)
    expect(error).toMatchObject({ type: 'server_error', code: 'upstream_auth_failed', param: null })
    expect(error.message).not.toMatch(/Incorrect API key/)
    expect(logs.join('\n')).toMatch(/upstream answered 401/)
  })

  it('turns an upstream 403 into a 502 with a generic message', async () => {
    upstream.sim.setFault({ kind: 'status', status: 403 })
    const res = await call(PATH)
    expect(res.status).toBe(502)
    expect((await errorOf(res)).code).toBe('upstream_auth_failed')
  })

  it.each([
    ['retry-after seconds', { retryAfter: '7' }, '7'],
    ['retry-after-ms', { retryAfterMs: '2500' }, '3'],
    ['no header', {}, '1'],
  ])('returns an upstream 429 with Retry-After (%s)', async (_, headers, expected) => {
    upstream.sim.setFault({ kind: 'rate_limit', ...headers })
    const res = await call(PATH)
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe(expected)
    expect(await errorOf(res)).toMatchObject({ code: 'rate_limit_exceeded', param: null })
  })

  it('reads a retry-after HTTP date', async () => {
    upstream.sim.setFault({
      kind: 'rate_limit',
      retryAfter: new Date(Date.now() + 30_000).toUTCString(),
    })
    const res = await call(PATH)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(29)
    expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(31)
  })

  it.each([500, 502, 503, 504])('turns an upstream %i into a 502', async (status) => {
    upstream.sim.setFault({ kind: 'status', status })
    const res = await call(PATH)
    expect(res.status).toBe(502)
    expect(await errorOf(res)).toMatchObject({ type: 'server_error', code: 'upstream_error' })
  })

  it('turns a dropped connection into a 502', async () => {
    upstream.sim.setFault({ kind: 'drop' })
    const res = await call(PATH)
    expect(res.status).toBe(502)
    expect((await errorOf(res)).code).toBe('upstream_unreachable')
  })

  it('bounds a hanging upstream by the timeout: 504', async () => {
    upstream.sim.setFault({ kind: 'hang' })
    const started = Date.now()
    const res = await call(PATH, { env: { ...env, UPSTREAM_TIMEOUT_MS: '50' } })
    expect(res.status).toBe(504)
    expect((await errorOf(res)).code).toBe('upstream_timeout')
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('answers a slow upstream within the timeout', async () => {
    upstream.sim.setFault({ kind: 'slow', delayMs: 20 })
    const res = await call(PATH, { env: { ...env, UPSTREAM_TIMEOUT_MS: '2000' } })
    expect(res.status).toBe(200)
  })

  it.each([
    ['malformed JSON', { kind: 'malformed' as const }],
    ['a schema-drifted page', { kind: 'drift' as const }],
  ])('turns %s into a 502 and stores nothing', async (_, fault) => {
    upstream.sim.setFault(fault)
    const res = await call(PATH)
    expect(res.status).toBe(502)
    expect((await errorOf(res)).code).toBe('upstream_invalid_response')
    expect(await env.GROUPS_CACHE.get(KEY)).toBeNull()
  })

  it('never stores an error, and an error never replaces a good page', async () => {
    expect((await call(PATH)).status).toBe(200)
    const good = await env.GROUPS_CACHE.get(KEY)
    upstream.sim.setFault({ kind: 'status', status: 500 })
    // Past every window the page is not served any more, but it is not replaced either.
    const noStale = {
      ...env,
      CACHE_STALE_WHILE_REVALIDATE_SECONDS: '0',
      CACHE_STALE_IF_ERROR_SECONDS: '0',
    }
    const later = await call(PATH, { env: noStale, now: () => Date.now() + 120_000 })
    expect(later.status).toBe(502)
    expect(await env.GROUPS_CACHE.get(KEY)).toBe(good)
  })

  it('logs the upstream request id on the request line', async () => {
    await call(PATH)
    const line = logs.find((l) => l.includes('"event":"request"'))
    expect(JSON.parse(line as string)).toMatchObject({
      upstreamRequestId: 'req_sim00000001',
      upstreamStatus: 200,
      status: 200,
    })
  })

  it('treats a missing admin key as an operator error: a log line and a generic 500', async () => {
    const { OPENAI_ADMIN_KEY: _, ...withoutKey } = env
    const res = await call(PATH, { env: withoutKey as Env })
    expect(res.status).toBe(500)
    const error = await errorOf(res)
    expect(error).toMatchObject({ type: 'server_error', code: 'gateway_misconfigured' })
    expect(error.message).not.toMatch(/OPENAI_ADMIN_KEY/)
    expect(logs.join('\n')).toMatch(/OPENAI_ADMIN_KEY secret is not set/)
    expect(upstream.requests).toHaveLength(0)
  })
})

describe('upstream body bound', () => {
  it.each([
    ['an endless body', { kind: 'oversize' } as const],
    ['a 5 MiB body', { kind: 'oversize', bytes: 5 * 1024 * 1024 } as const],
  ])(
    'refuses %s past 4 MiB with a 502, nothing stored, long before the timeout',
    async (_, fault) => {
      upstream.sim.setFault(fault)
      const started = Date.now()
      const res = await call(PATH)
      expect(res.status).toBe(502)
      expect((await errorOf(res)).code).toBe('upstream_invalid_response')
      expect(Date.now() - started).toBeLessThan(2_000)
      expect(
        (await env.GROUPS_CACHE.list()).keys.filter((k) => k.name !== 'groups:generation'),
      ).toEqual([])
      expect(logs.join('\n')).toMatch(/upstream body exceeds 4194304 bytes/)
    },
  )

  it('refuses a declared Content-Length past the bound without reading the body', async () => {
    upstream.sim.fetch = async () =>
      new Response('{}', { headers: { 'content-length': String(5 * 1024 * 1024) } })
    const res = await call(PATH)
    expect(res.status).toBe(502)
    expect((await errorOf(res)).code).toBe('upstream_invalid_response')
  })

  it('reads a page just under the bound', async () => {
    const big = { object: 'list', data: [] as unknown[], has_more: false, next: null }
    // A full page of the largest limit: more groups than asked for would be refused.
    const group = {
      object: 'group',
      id: 'g',
      name: 'x'.repeat(Math.floor((3.9 * 1024 * 1024) / 1000) - 100),
      created_at: 1,
      is_scim_managed: false,
      group_type: 'group',
    }
    big.data = Array(1000).fill(group)
    upstream.sim.fetch = async () => Response.json(big)
    const res = await call('/v1/organization/groups?limit=1000')
    expect(res.status).toBe(200)
    expect((await res.text()).length).toBe(JSON.stringify(big).length)
  })
})

describe('a failing KV', () => {
  const kvFailing = { get: 'read', put: 'write', both: 'both' } as const

  it.each(['get', 'put', 'both'] as const)(
    'serves the page from the upstream when KV %s fails',
    async (fail) => {
      const res = await call(PATH, { env: { ...env, GROUPS_CACHE: failingKv(kvFailing[fail]) } })
      expect(res.status).toBe(200)
      expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(3)
      expect(logs.join('\n')).toMatch(
        fail === 'put' ? /kv_write_failed/ : /kv_generation_read_failed/,
      )
    },
  )

  it('keeps the stored page when a later write fails', async () => {
    await call(PATH)
    const good = await env.GROUPS_CACHE.get(KEY)
    const res = await call(PATH, {
      env: { ...env, GROUPS_CACHE: failingKv('write'), CACHE_STALE_WHILE_REVALIDATE_SECONDS: '0' },
      now: () => Date.now() + 120_000,
    })
    expect(res.status).toBe(200)
    expect(await env.GROUPS_CACHE.get(KEY)).toBe(good)
  })
})

describe('/healthz', () => {
  it('is healthy when configured', async () => {
    const res = await call('/healthz', { key: null })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ok' })
  })

  it.each([
    ['a missing admin key', { OPENAI_ADMIN_KEY: '' }, /OPENAI_ADMIN_KEY secret is not set/],
    ['a malformed var', { CACHE_TTL_SECONDS: 'soon' }, /CACHE_TTL_SECONDS must be an integer/],
    [
      'a plain-text upstream',
      { OPENAI_BASE_URL: 'http://api.example' },
      /OPENAI_BASE_URL must use https/,
    ],
  ])('answers 503 in generic words for %s, and logs why', async (_, vars, why) => {
    const res = await call('/healthz', { key: null, env: { ...env, ...vars } as Env })
    expect(res.status).toBe(503)
    const { error } = (await res.json()) as { error: Record<string, string> }
    expect(error).toMatchObject({ type: 'server_error', code: 'gateway_misconfigured' })
    expect(error.message).toBe(
      'The gateway is not configured correctly. Please contact its operators.',
    )
    expect(logs.join('\n')).toMatch(why)
    expect(upstream.requests).toHaveLength(0)
  })
})
