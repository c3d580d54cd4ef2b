import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { GENERATION_KEY } from '../../src/pages/generation'
import { cacheKey } from '../../src/pages/page'
import { MAX_BODY_BYTES } from '../../src/upstream/validate'
import { call, failingKv, type KvFailure, loggedEvents, logs, upstream } from '../helpers'

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

  it('turns an upstream 403 into a 502 upstream_auth_failed, as a 401', async () => {
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

  it('gives up on a hanging upstream at UPSTREAM_TIMEOUT_MS: 504 upstream_timeout after one attempt', async () => {
    upstream.sim.setFault({ kind: 'hang' })
    const res = await call(PATH, { env: { ...env, UPSTREAM_TIMEOUT_MS: '20' } })
    expect(res.status).toBe(504)
    expect((await errorOf(res)).code).toBe('upstream_timeout')
    expect(upstream.requests).toHaveLength(1)
    expect(logs.join('\n')).toMatch(/"detail":"upstream timed out after 20 ms \(1 attempt\)"/)
  })

  it('waits for an upstream that has not answered yet, and serves its page once it does', async () => {
    const gate = upstream.sim.hold()
    const pending = call(PATH)
    await gate.reached(1)
    expect(gate.waiting).toBe(1)
    gate.open()
    const res = await pending
    expect(res.status).toBe(200)
    expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(3)
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
    'refuses %s once past MAX_BODY_BYTES: 502 upstream_invalid_response (not a timeout), nothing stored',
    async (_, fault) => {
      upstream.sim.setFault(fault)
      // A timeout far past the test's own: only the bound can end an endless body in time.
      const res = await call(PATH, { env: { ...env, UPSTREAM_TIMEOUT_MS: '120000' } })
      expect(res.status).toBe(502)
      expect((await errorOf(res)).code).toBe('upstream_invalid_response')
      expect((await env.GROUPS_CACHE.list()).keys.filter((k) => k.name !== GENERATION_KEY)).toEqual(
        [],
      )
      expect(logs.join('\n')).toContain(`upstream body exceeds ${MAX_BODY_BYTES} bytes`)
    },
  )

  it('refuses a declared Content-Length past the bound without reading the body', async () => {
    let read = false
    upstream.sim.fetch = async () => {
      const body = new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            read = true
            controller.enqueue(new TextEncoder().encode('{}'))
            controller.close()
          },
        },
        { highWaterMark: 0 },
      )
      return new Response(body, { headers: { 'content-length': String(MAX_BODY_BYTES + 1) } })
    }
    const res = await call(PATH)
    expect(res.status).toBe(502)
    expect((await errorOf(res)).code).toBe('upstream_invalid_response')
    expect(read).toBe(false)
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
  it.each<[string, KvFailure[], string]>([
    ['page reads', ['page-read'], 'kv_read_failed'],
    ['cache generation reads', ['generation-read'], 'kv_generation_read_failed'],
    ['writes', ['write'], 'kv_write_failed'],
    // The generation unknown, no page is read or written: that read's failure is the one logged.
    ['everything', ['generation-read', 'page-read', 'write'], 'kv_generation_read_failed'],
  ])('serves the page from the upstream when KV %s fail, logging %s', async (_, fail, event) => {
    const res = await call(PATH, { env: { ...env, GROUPS_CACHE: failingKv(...fail) } })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(3)
    expect(loggedEvents().filter((e) => e.startsWith('kv_'))).toEqual([event])
  })

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
