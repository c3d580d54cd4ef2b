import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import committed from '../../openapi/openapi.json'
import readme from '../../README.md?raw'
import { call, upstream } from '../helpers'

const PATH = '/v1/organization/groups?limit=3'

/** The README's "Retry hints" table: status, code, x-should-retry, Retry-After, retry-after-ms. */
const rows = (() => {
  const section = readme.slice(
    readme.indexOf('### Retry hints'),
    readme.indexOf('## Cache semantics'),
  )
  return section
    .split('\n')
    .filter((l) => /^\| \d{3} \|/.test(l))
    .map((l) => {
      const [status, code, shouldRetry, retryAfter, retryAfterMs] = l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim())
      return { status: Number(status), code: code as string, shouldRetry, retryAfter, retryAfterMs }
    })
})()

const refusing: RateLimit = { limit: async () => ({ success: false }) }
const failingPartners = new Proxy(env.PARTNERS, {
  get: (t, p) =>
    p === 'get' ? () => Promise.reject(new Error('KV GET failed')) : Reflect.get(t, p),
})

/** A request that gets each row's answer, keyed by the row's status and the start of its code. */
const SCENARIOS: Record<string, () => Promise<Response>> = {
  '400 `null`': () => call('/v1/organization/groups?limit=abc'),
  '401 `invalid_api_key`': () => call(PATH, { key: null }),
  '404 `unknown_url`': () => call('/nowhere'),
  '405 `method_not_allowed`': () => call(PATH, { init: { method: 'POST' } }),
  '422 the': () => {
    upstream.sim.fetch = async () =>
      Response.json(
        { error: { message: 'no', type: 'invalid_request_error', param: 'limit', code: null } },
        { status: 422 },
      )
    return call(PATH)
  },
  '429 `rate_limit_exceeded` (the partner': () =>
    call(PATH, { env: { ...env, RATE_LIMIT_STANDARD: refusing } }),
  '429 `rate_limit_exceeded` (the upstream': () => {
    upstream.sim.setFault({ kind: 'rate_limit', retryAfterMs: '1500' })
    return call(PATH)
  },
  '500 `gateway_misconfigured`': () => call(PATH, { env: { ...env, OPENAI_ADMIN_KEY: '' } }),
  '502 `upstream_error`,': () => {
    upstream.sim.setFault({ kind: 'status', status: 500 })
    return call(PATH)
  },
  '502 `upstream_auth_failed`': () => {
    upstream.sim.setFault({ kind: 'unauthorized' })
    return call(PATH)
  },
  '503 `auth_unavailable`': () => call(PATH, { env: { ...env, PARTNERS: failingPartners } }),
  '503 `gateway_misconfigured`': () =>
    call('/healthz', { key: null, env: { ...env, OPENAI_ADMIN_KEY: '' } }),
  '504 `upstream_timeout`': () => {
    upstream.sim.setFault({ kind: 'hang' })
    return call(PATH, { env: { ...env, UPSTREAM_TIMEOUT_MS: '50' } })
  },
  '504 `not_cached`': () =>
    call(PATH, { init: { headers: { 'cache-control': 'only-if-cached' } } }),
}

const scenarioFor = (row: (typeof rows)[number]) =>
  Object.entries(SCENARIOS).find(([k]) => `${row.status} ${row.code}`.startsWith(k))?.[1]

describe('retry hints: the README, the contract and the wire agree', () => {
  it('covers every error status the contract declares', () => {
    expect(rows.length).toBeGreaterThanOrEqual(14)
    const declared = Object.keys(committed.paths['/v1/organization/groups'].get.responses)
      .map(Number)
      .filter((s) => s >= 400)
    for (const status of declared) expect(rows.map((r) => r.status)).toContain(status)
    for (const row of rows) expect(scenarioFor(row), `${row.status} ${row.code}`).toBeDefined()
  })

  it.each(rows.map((r) => [`${r.status} ${r.code}`, r] as const))('%s', async (_, row) => {
    const res = await (scenarioFor(row) as () => Promise<Response>)()
    expect(res.status).toBe(row.status)
    expect(res.headers.get('x-should-retry')).toBe(row.shouldRetry)
    const retryAfter = res.headers.get('retry-after')
    if (row.retryAfter === 'no') expect(retryAfter).toBeNull()
    else if (row.retryAfter === 'yes') expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)
    else expect(retryAfter).toBe(row.retryAfter)
    const ms = res.headers.get('retry-after-ms')
    if (row.retryAfterMs === 'no') expect(ms).toBeNull()
    else expect(ms).toBe('1500')

    // The contract declares every header this answer may carry, on the route that gives it.
    const path = row.code.includes('/healthz') ? '/healthz' : '/v1/organization/groups'
    if (row.status === 404 || row.status === 405 || path === '/healthz') return
    const responses = committed.paths[path].get.responses as Record<string, { headers?: object }>
    const headers = Object.keys(responses[String(row.status)]?.headers ?? {})
    expect(headers).toContain('x-should-retry')
    if (row.retryAfter !== 'no') expect(headers).toContain('Retry-After')
    if (row.retryAfterMs !== 'no') expect(headers).toContain('retry-after-ms')
  })
})

describe('an upstream 429: its retry hints pass on as one wait', () => {
  it.each([
    ['retry-after alone', { retryAfter: '5' }, '5', null],
    ['a retry-after past the cap', { retryAfter: '99999999' }, '3600', null],
    ['retry-after-ms', { retryAfterMs: '2500' }, '3', '2500'],
    ['a retry-after-ms past the cap', { retryAfterMs: '99999999000' }, '3600', '3600000'],
    ['a retry-after-ms under a second', { retryAfterMs: '40' }, '1', '40'],
    ['a fractional retry-after-ms', { retryAfterMs: '2000.5' }, '3', '2001'],
    [
      'both (retry-after-ms wins, as in the SDK)',
      { retryAfterMs: '1500', retryAfter: '9' },
      '2',
      '1500',
    ],
  ])('%s', async (_, hints, retryAfter, retryAfterMs) => {
    upstream.sim.setFault({ kind: 'rate_limit', ...hints })
    const res = await call(PATH)
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe(retryAfter)
    expect(res.headers.get('retry-after-ms')).toBe(retryAfterMs)
    const ms = res.headers.get('retry-after-ms')
    if (ms !== null)
      expect(Math.ceil(Number(ms) / 1000)).toBe(Number(res.headers.get('retry-after')))
  })
})
