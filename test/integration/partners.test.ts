import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { PARTNER_LOOKUP_TTL_MS } from '../../src/partners/directory'
import { digestKey, generatePartnerKey, storageKey } from '../../src/partners/keys'
import { TEST_ADMIN_KEY, TEST_PARTNER_KEY_SECRET } from '../constants'
import {
  call,
  countingReads,
  createGateway,
  createPartner,
  logs,
  partner,
  scriptedRateLimit,
  upstream,
  withinOneWindow,
} from '../helpers'

const PATH = '/v1/organization/groups?limit=1'
/** The start of a 10 s (and 60 s) rate-limit window, for tests that set the clock the limiter reads. */
const WINDOW_START = Date.UTC(2030, 0, 1)

afterEach(() => {
  vi.useRealTimers()
})

const UNAUTHORIZED = {
  error: {
    message:
      "Missing or invalid partner key. Send your key as 'Authorization: Bearer <key>'; ask the gateway's operators for one.",
    type: 'invalid_request_error',
    param: null,
    code: 'invalid_api_key',
  },
}

async function expectUnauthorized(res: Response) {
  expect(res.status).toBe(401)
  expect(res.headers.get('www-authenticate')).toBe('Bearer realm="groups-gateway"')
  expect(res.headers.get('cache-control')).toBe('no-store')
  expect(res.headers.get('ratelimit')).toBeNull()
  expect(await res.json()).toEqual(UNAUTHORIZED)
}

describe('partner keys', () => {
  it('lets a partner key through', async () => {
    const res = await call(PATH)
    expect(res.status).toBe(200)
  })

  it.each([
    ['no Authorization header', null],
    ['an empty bearer', 'Bearer '],
    ['another scheme', `Basic ${btoa('user:pass')}`],
    ['a malformed key', 'Bearer gwp_short'],
    ['a key without its prefix', `Bearer ${'A'.repeat(43)}`],
    ['the admin key', `Bearer ${TEST_ADMIN_KEY}`],
    ['a well-formed unknown key', `Bearer gwp_${'A'.repeat(43)}`],
  ])('refuses %s with the same 401, without an upstream call', async (_, authorization) => {
    const init = authorization === null ? {} : { headers: { authorization } }
    await expectUnauthorized(await call(PATH, { key: null, init }))
    expect(upstream.requests).toHaveLength(0)
  })

  it.each(['bearer', 'BEARER', 'BeArEr'])(
    'takes the scheme in any case (RFC 9110 11.1): %s',
    async (scheme) => {
      const res = await call(PATH, {
        key: null,
        init: { headers: { authorization: `${scheme} ${partner.key}` } },
      })
      expect(res.status).toBe(200)
    },
  )

  it('refuses a disabled partner the same way', async () => {
    const key = await createPartner('disabled-partner', { disabled: true })
    await expectUnauthorized(await call(PATH, { key }))
    expect(upstream.requests).toHaveLength(0)
  })

  it('refuses a revoked key once this isolate’s lookup of it expires (PARTNER_LOOKUP_TTL_MS), and in a fresh isolate at once', async () => {
    let t = Date.now()
    const app = createGateway({ now: () => t })
    expect((await call(PATH, { app })).status).toBe(200)
    await env.PARTNERS.delete(storageKey(await digestKey(partner.key)))
    // This isolate trusts its lookup until it expires: the documented revocation bound.
    t += PARTNER_LOOKUP_TTL_MS - 1
    expect((await call(PATH, { app })).status).toBe(200)
    t += 1
    await expectUnauthorized(await call(PATH, { app }))
    // A fresh isolate refuses it at once.
    await expectUnauthorized(await call(PATH))
  })

  it('looks a revoked key up at most once per lookup period, however often it comes', async () => {
    let t = Date.now()
    const partners = countingReads(env.PARTNERS)
    const counting = { ...env, PARTNERS: partners.kv } as Env
    const app = createGateway({ now: () => t })
    expect((await call(PATH, { app, env: counting })).status).toBe(200)
    await env.PARTNERS.delete(storageKey(await digestKey(partner.key)))
    t += PARTNER_LOOKUP_TTL_MS
    for (let i = 0; i < 10; i++) await expectUnauthorized(await call(PATH, { app, env: counting }))
    // One read when the key was first seen, one when its lookup expired: then the refusal is kept.
    expect(partners.reads).toBe(2)
  })

  it.each([
    ['missing', ''],
    ['shorter than 32 characters', 'short-secret'],
  ])(
    'with PARTNER_KEY_SECRET %s: /v1 answers 500 and /healthz 503 in generic words, and the log names the secret',
    async (_, secret) => {
      const misconfigured = { ...env, PARTNER_KEY_SECRET: secret } as Env
      const page = await call(PATH, { env: misconfigured })
      expect(page.status).toBe(500)
      const health = await call('/healthz', { key: null, env: misconfigured })
      expect(health.status).toBe(503)
      for (const res of [page, health]) {
        const { error } = (await res.json()) as { error: Record<string, string> }
        expect(error).toMatchObject({ code: 'gateway_misconfigured' })
      }
      expect(logs.join('\n')).toMatch(/PARTNER_KEY_SECRET secret is not set or shorter than 32/)
      expect(upstream.requests).toHaveLength(0)
    },
  )

  it('answers 503 when partner records cannot be read, and lets nobody in', async () => {
    const failing = {
      ...env,
      PARTNERS: { get: () => Promise.reject(new Error('KV down')) } as unknown as KVNamespace,
    }
    const res = await call(PATH, { env: failing })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('1')
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('auth_unavailable')
    expect(upstream.requests).toHaveLength(0)
  })

  it.each(['/healthz', '/openapi.json', '/docs'])('keeps %s public', async (path) => {
    const res = await call(path, { key: null })
    expect(res.status).toBe(200)
  })

  it('authenticates before validating, so a stranger learns nothing about the API', async () => {
    await expectUnauthorized(await call('/v1/organization/groups?limit=abc', { key: null }))
    await expectUnauthorized(await call('/v1/organization/unknown', { key: null }))
  })
})

describe('rate limits', () => {
  it('sends the IETF RateLimit fields on every authenticated response', async () => {
    const app = createGateway()
    const ok = await call(PATH, { app })
    expect(ok.headers.get('ratelimit-policy')).toBe('"standard";q=600;w=60')
    expect(ok.headers.get('ratelimit')).toMatch(/^"standard";r=599;t=\d+$/)
    const bad = await call('/v1/organization/groups?limit=abc', { app })
    expect(bad.status).toBe(400)
    expect(bad.headers.get('ratelimit')).toMatch(/^"standard";r=598;t=\d+$/)
  })

  it('refuses with 429 while the binding refuses, Retry-After and RateLimit naming the window’s end, and counts the next window afresh', async () => {
    const key = await createPartner('restricted-partner', { tier: 'restricted' })
    const app = createGateway()
    // The binding allows ten, then refuses; the clock the limiter reads is 3 s into a 10 s window.
    const limit = scriptedRateLimit([...Array(10).fill(true), false])
    const bindings = { ...env, RATE_LIMIT_RESTRICTED: limit.binding }
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(WINDOW_START + 3_000)
    for (let i = 1; i <= 10; i++) {
      const res = await call(PATH, { app, key, env: bindings })
      expect(res.status).toBe(200)
      expect(res.headers.get('ratelimit')).toBe(`"restricted";r=${10 - i};t=7`)
    }
    const limited = await call(PATH, { app, key, env: bindings })
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('7')
    expect(limited.headers.get('ratelimit')).toBe('"restricted";r=0;t=7')
    expect(limited.headers.get('ratelimit-policy')).toBe('"restricted";q=10;w=10')
    expect(await limited.json()).toEqual({
      error: {
        message: expect.stringMatching(
          /^Rate limit reached for partner 'restricted-partner' .* Please retry after about 7 seconds\.$/,
        ),
        type: 'rate_limit_error',
        param: null,
        code: 'rate_limit_exceeded',
      },
    })
    expect(upstream.requests).toHaveLength(1)
    expect(limit.keys).toEqual(Array(11).fill('restricted-partner'))

    // Retry-After later: a new window, which the binding allows again.
    limit.answers.push(true)
    vi.setSystemTime(WINDOW_START + 10_000)
    const recovered = await call(PATH, { app, key, env: bindings })
    expect(recovered.status).toBe(200)
    expect(recovered.headers.get('ratelimit')).toBe('"restricted";r=9;t=10')
  })

  it('fails open when the rate limiter itself fails, and logs it', async () => {
    const failing = {
      ...env,
      RATE_LIMIT_STANDARD: { limit: () => Promise.reject(new Error('limiter down')) },
    }
    const res = await call(PATH, { env: failing })
    expect(res.status).toBe(200)
    expect(logs.some((l) => l.includes('"rate_limiter_failed"'))).toBe(true)
  })
})

describe('a surface safe to expose', () => {
  it('sends no CORS headers by default', async () => {
    const res = await call(PATH, { init: { headers: { origin: 'https://partner.example' } } })
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('allows only listed origins, exactly, never reflecting others', async () => {
    const withCors = { ...env, CORS_ALLOWED_ORIGINS: 'https://partner.example, https://b.example' }
    const allowed = await call(PATH, {
      env: withCors,
      init: { headers: { origin: 'https://partner.example' } },
    })
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://partner.example')
    expect(allowed.headers.get('access-control-expose-headers')).toMatch(/RateLimit/)
    for (const origin of ['https://evil.example', 'https://partner.example.evil', 'null']) {
      const refused = await call(PATH, { env: withCors, init: { headers: { origin } } })
      expect(refused.headers.get('access-control-allow-origin'), origin).toBeNull()
    }
    const preflight = await call(PATH, {
      env: withCors,
      key: null,
      init: {
        method: 'OPTIONS',
        headers: {
          origin: 'https://b.example',
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'authorization',
        },
      },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://b.example')
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/)
  })

  it("lets the official SDK's browser requests through, and read what it needs", async () => {
    const withCors = { ...env, CORS_ALLOWED_ORIGINS: 'https://partner.example' }
    const sent = [
      'authorization',
      'x-stainless-lang',
      'x-stainless-package-version',
      'x-stainless-os',
      'x-stainless-arch',
      'x-stainless-runtime',
      'x-stainless-runtime-version',
      'x-stainless-retry-count',
      'x-stainless-timeout',
    ]
    const preflight = await call(PATH, {
      env: withCors,
      key: null,
      init: {
        method: 'OPTIONS',
        headers: {
          origin: 'https://partner.example',
          'access-control-request-method': 'GET',
          'access-control-request-headers': sent.join(','),
        },
      },
    })
    const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').toLowerCase()
    for (const header of sent) expect(allowed.split(',').map((h) => h.trim())).toContain(header)
    const res = await call(PATH, {
      env: withCors,
      init: { headers: { origin: 'https://partner.example' } },
    })
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase()
    for (const header of ['x-request-id', 'x-should-retry', 'retry-after-ms', 'retry-after']) {
      expect(exposed.split(',').map((h) => h.trim())).toContain(header)
    }
  })

  it.each([
    ['a page', PATH, null],
    ['a 401', PATH, 'none'],
    ['a 404', '/nowhere', null],
    ['the health check', '/healthz', null],
  ])('puts security headers on %s', async (_, path, auth) => {
    const res = await call(path, auth === 'none' ? { key: null } : {})
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/)
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    )
    expect(res.headers.get('cache-control') ?? '').not.toMatch(/public/)
  })

  it('gives a page answered from its headers built once (a miss, a hit, a 304, a CORS answer) every security, request-id and rate-limit header, each once', async () => {
    const withCors = { ...env, CORS_ALLOWED_ORIGINS: 'https://partner.example' }
    const miss = await call(PATH)
    const etag = miss.headers.get('etag') ?? ''
    const answers = [
      miss,
      await call(PATH),
      await call(PATH, { init: { headers: { 'if-none-match': etag } } }),
      await call(PATH, { env: withCors, init: { headers: { origin: 'https://partner.example' } } }),
    ]
    expect(answers.map((r) => r.status)).toEqual([200, 200, 304, 200])
    for (const res of answers) {
      // A header set twice would read as both values, joined by a comma.
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('x-frame-options')).toBe('DENY')
      expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin')
      expect(res.headers.get('strict-transport-security')).toBe(
        'max-age=15552000; includeSubDomains',
      )
      expect(res.headers.get('content-security-policy')).toBe(
        "default-src 'none'; frame-ancestors 'none'",
      )
      expect(res.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/)
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
      expect(res.headers.get('ratelimit-policy')).toMatch(/^"\w+";q=\d+;w=\d+$/)
      expect(res.headers.get('ratelimit')).toMatch(/^"\w+";r=\d+;t=\d+$/)
    }
    const [, hit, notModified, cors] = answers as [Response, Response, Response, Response]
    expect(hit.headers.get('cache-status')).toMatch(/; hit; /)
    expect(hit.headers.get('content-type')).toBe('application/json')
    expect(notModified.headers.get('content-type')).toBeNull()
    expect(notModified.headers.get('etag')).toBe(etag)
    expect(cors.headers.get('access-control-allow-origin')).toBe('https://partner.example')
    expect(new Set(answers.map((r) => r.headers.get('x-request-id'))).size).toBe(4)
  })

  it('serves /docs under a CSP that allows only its own assets', async () => {
    const res = await call('/docs', { key: null })
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toMatch(/default-src 'none'/)
    expect(csp).toMatch(/script-src 'self'(;|$)/)
    expect(csp).toMatch(/connect-src 'self'/)
    expect(csp).not.toMatch(/https?:|\*/)
  })

  it('marks authenticated pages private, never public', async () => {
    for (const _ of [1, 2]) {
      const res = await call(PATH)
      expect(res.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/)
    }
  })

  it('writes one structured line per request, naming the partner, never the key', async () => {
    await call(PATH)
    await call('/v1/organization/groups?limit=abc')
    await call(PATH, { key: null })
    const lines = logs.filter((l) => l.includes('"event":"request"')).map((l) => JSON.parse(l))
    expect(lines).toHaveLength(3)
    expect(lines[0]).toMatchObject({
      partner: partner.name,
      method: 'GET',
      route: '/v1/organization/groups',
      status: 200,
      cache: 'groups-gateway; fwd=uri-miss; fwd-status=200; stored; ttl=60',
      upstreamStatus: 200,
      upstreamMs: expect.any(Number),
      requestId: expect.any(String),
    })
    expect(lines[1]).toMatchObject({ partner: partner.name, status: 400, upstreamStatus: null })
    expect(lines[2]).toMatchObject({ partner: null, status: 401 })
  })
})

describe('failed authentication, per client address', () => {
  /** Well formed, but its check value was not made under the gateway's secret. */
  const madeUp = () =>
    `gwp_${crypto.randomUUID().replaceAll('-', '').padEnd(43, 'x')}.${'A'.repeat(22)}`
  /** A key the gateway once issued (its check is valid) that no partner holds now: revoked. */
  const revoked = () => generatePartnerKey(TEST_PARTNER_KEY_SECRET)
  /** The auth-failure binding, counting the calls made to it. */
  function countingFailures() {
    const counter = { calls: 0 }
    const real = env.RATE_LIMIT_AUTH_FAILURES
    const binding = {
      limit: (options: { key: string }) => {
        counter.calls++
        return real.limit(options)
      },
    } as RateLimit
    return { counter, binding }
  }

  it('refuses 1,000 made-up keys from one address with 401 at no KV read or binding call, then serves a partner behind it', async () => {
    const address = `203.0.113.${Math.floor(Math.random() * 250)}`
    const partners = countingReads(env.PARTNERS)
    const failures = countingFailures()
    const counting = {
      ...env,
      PARTNERS: partners.kv,
      RATE_LIMIT_AUTH_FAILURES: failures.binding,
    } as Env
    const app = createGateway()
    const headers = { 'cf-connecting-ip': address }
    const statuses = new Set<number>()
    for (let i = 0; i < 1000; i++) {
      const res = await call(PATH, { app, env: counting, key: madeUp(), init: { headers } })
      statuses.add(res.status)
    }
    expect([...statuses]).toEqual([401])
    expect({ reads: partners.reads, bindingCalls: failures.counter.calls }).toEqual({
      reads: 0,
      bindingCalls: 0,
    })
    // The partner's key, never seen by this isolate: looked up, and served.
    const res = await call(PATH, { app, env: counting, init: { headers } })
    expect(res.status).toBe(200)
    expect(partners.reads).toBe(1)
  })

  it('counts refused keys with a valid check (revoked) per address: past 30, 429 for them, while a valid key from the same address is served', async () => {
    const { statuses, retryAfter, other, valid } = await withinOneWindow(60, async () => {
      const address = `198.51.100.${Math.floor(Math.random() * 250)}`
      const app = createGateway()
      const headers = { 'cf-connecting-ip': address }
      const statuses: number[] = []
      let retryAfter = ''
      for (let i = 0; i < 35; i++) {
        const res = await call(PATH, { app, key: await revoked(), init: { headers } })
        statuses.push(res.status)
        if (res.status === 429) retryAfter = res.headers.get('retry-after') ?? ''
      }
      const other = await call(PATH, {
        app,
        key: await revoked(),
        init: { headers: { 'cf-connecting-ip': '192.0.2.77' } },
      })
      // A partner's key this isolate has never seen, from the blocked address: looked up, served.
      const valid = await call(PATH, { app, init: { headers } })
      return { statuses, retryAfter, other: other.status, valid: valid.status }
    })
    expect(statuses).toEqual([...Array(30).fill(401), ...Array(5).fill(429)])
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)
    expect(Number(retryAfter)).toBeLessThanOrEqual(60)
    expect(other).toBe(401)
    expect(valid).toBe(200)
  })

  it('throttles wrong operator keys per address like refused partner keys: 30 x 401, then 429, while the right key elsewhere still purges', async () => {
    const withKey = { ...env, OPERATOR_KEY: 'the-operator-key-of-this-test' } as Env
    const { statuses, right } = await withinOneWindow(60, async () => {
      const app = createGateway()
      const address = `192.0.2.${Math.floor(Math.random() * 250)}`
      const statuses: number[] = []
      for (let i = 0; i < 35; i++) {
        const res = await call('/admin/cache/purge', {
          app,
          env: withKey,
          key: `wrong-operator-key-${i}`,
          init: { method: 'POST', headers: { 'cf-connecting-ip': address } },
        })
        statuses.push(res.status)
      }
      const right = await call('/admin/cache/purge', {
        app,
        env: withKey,
        key: 'the-operator-key-of-this-test',
        init: { method: 'POST', headers: { 'cf-connecting-ip': '198.51.100.200' } },
      })
      return { statuses, right: right.status }
    })
    expect(statuses).toEqual([...Array(30).fill(401), ...Array(5).fill(429)])
    expect(right).toBe(200)
  })

  it('keeps one budget for a whole IPv6 /64: moving within the prefix does not start afresh', async () => {
    const statuses = await withinOneWindow(60, async () => {
      const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:7`
      const app = createGateway()
      const statuses: number[] = []
      for (let i = 0; i < 31; i++) {
        const address = `${prefix}:${(i + 1).toString(16)}::${i.toString(16)}`
        const res = await call(PATH, {
          app,
          key: await revoked(),
          init: { headers: { 'cf-connecting-ip': address } },
        })
        statuses.push(res.status)
      }
      return statuses
    })
    expect(statuses).toEqual([...Array(30).fill(401), 429])
  })
})
