import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import committed from '../../openapi/openapi.json'
import readme from '../../README.md?raw'
import { withTables } from '../../scripts/tables'
import { type ErrorName, errorSpecs } from '../../src/error-catalogue'
import { call, upstream } from '../helpers'

const PATH = '/v1/organization/groups?limit=3'

const refusing: RateLimit = { limit: async () => ({ success: false }) }
const failingPartners = new Proxy(env.PARTNERS, {
  get: (t, p) =>
    p === 'get' ? () => Promise.reject(new Error('KV GET failed')) : Reflect.get(t, p),
})
const upstreamAnswers = (status: number) => {
  upstream.sim.fetch = async () =>
    Response.json(
      { error: { message: 'no', type: 'invalid_request_error', param: 'limit', code: null } },
      { status },
    )
  return call(PATH)
}
const fault = (f: Parameters<typeof upstream.sim.setFault>[0], options = {}) => {
  upstream.sim.setFault(f)
  return call(PATH, options)
}

const OPERATOR_KEY = 'the-operator-key-of-this-test-0123456789'
const purge = (key: string, bindings: Partial<Record<keyof Env, unknown>> = {}) =>
  call('/admin/cache/purge', {
    key,
    init: { method: 'POST' },
    env: { ...env, OPERATOR_KEY, ...bindings } as Env,
  })

/** A request that gets each catalogue entry's answer, on the wire. */
const SCENARIOS: Record<ErrorName, () => Promise<Response>> = {
  invalid_parameter: () => call('/v1/organization/groups?limit=abc'),
  upstream_bad_request: () => upstreamAnswers(400),
  invalid_api_key: () => call(PATH, { key: null }),
  invalid_operator_key: () => purge('wrong'),
  unknown_url: () => call('/nowhere'),
  upstream_not_found: () => upstreamAnswers(404),
  method_not_allowed: () => call(PATH, { init: { method: 'POST' } }),
  upstream_unprocessable: () => upstreamAnswers(422),
  partner_rate_limited: () => call(PATH, { env: { ...env, RATE_LIMIT_STANDARD: refusing } }),
  // A wrong operator key counts against the address, as a refused partner key does.
  auth_failures_limited: () => purge('wrong', { RATE_LIMIT_AUTH_FAILURES: refusing }),
  upstream_rate_limited: () => fault({ kind: 'rate_limit', retryAfterMs: '1500' }),
  gateway_misconfigured: () => call(PATH, { env: { ...env, OPENAI_ADMIN_KEY: '' } }),
  // Something no error of ours covers: purging with no KV binding at all.
  internal_error: () => purge(OPERATOR_KEY, { GROUPS_CACHE: undefined }),
  upstream_error: () => fault({ kind: 'status', status: 500 }),
  upstream_unreachable: () => fault({ kind: 'drop' }),
  upstream_invalid_response: () => fault({ kind: 'malformed' }),
  upstream_auth_failed: () => fault({ kind: 'unauthorized' }),
  auth_unavailable: () => call(PATH, { env: { ...env, PARTNERS: failingPartners } }),
  unhealthy: () => call('/healthz', { key: null, env: { ...env, OPENAI_ADMIN_KEY: '' } }),
  upstream_timeout: () => fault({ kind: 'hang' }, { env: { ...env, UPSTREAM_TIMEOUT_MS: '50' } }),
  not_cached: () => call(PATH, { init: { headers: { 'cache-control': 'only-if-cached' } } }),
}

describe('errors: the catalogue, the README, the contract and the wire agree', () => {
  it("the README's var and error tables are what `npm run docs:tables` writes from the code", () => {
    expect(readme).toBe(withTables(readme))
  })

  it('the contract declares every error status of the List groups route in the catalogue', () => {
    const declared = Object.keys(committed.paths['/v1/organization/groups'].get.responses)
      .map(Number)
      .filter((s) => s >= 400)
    const onRoute = Object.values(errorSpecs()).filter((e) => !e.offRoute)
    expect(declared.sort()).toEqual([...new Set(onRoute.map((e) => e.status))].sort())
  })

  it.each(Object.keys(errorSpecs()) as ErrorName[])(
    '%s: its status, code and retry hints on the wire, and its headers in the contract',
    async (name) => {
      const spec = errorSpecs()[name]
      const res = await SCENARIOS[name]()
      expect(res.status).toBe(spec.status)
      const { error } = (await res.json()) as { error: { code: string | null; type: string } }
      if (!spec.relayed) expect(error).toMatchObject({ code: spec.code, type: spec.type })
      const shouldRetry = spec.shouldRetry === null ? null : String(spec.shouldRetry)
      expect(res.headers.get('x-should-retry')).toBe(shouldRetry)
      const retryAfter = res.headers.get('retry-after')
      if (spec.retryAfter === null) expect(retryAfter).toBeNull()
      else if (spec.retryAfter === 1) expect(retryAfter).toBe('1')
      else expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)
      expect(res.headers.get('retry-after-ms')).toBe(
        name === 'upstream_rate_limited' ? '1500' : null,
      )
      if (spec.offRoute) return
      const responses = committed.paths['/v1/organization/groups'].get.responses as Record<
        string,
        { headers?: object }
      >
      const headers = Object.keys(responses[String(spec.status)]?.headers ?? {})
      expect(headers).toContain('x-should-retry')
      if (spec.retryAfter !== null) expect(headers).toContain('Retry-After')
    },
  )
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
