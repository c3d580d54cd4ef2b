import { reset } from 'cloudflare:test'
import { afterEach, beforeEach, expect, vi } from 'vitest'
import { DroppedConnection, UpstreamSimulator } from '../simulator/upstream'
import { TEST_ADMIN_KEY, TEST_UPSTREAM_BASE_URL } from './constants'
import { createPartner, logs, partner, secrets, upstream } from './helpers'

/** Every outbound fetch goes to the simulator; anything else fails the test, never the network. */
let partnerSerial = 0

beforeEach(async () => {
  logs.length = 0
  for (const level of ['log', 'warn', 'error'] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logs.push(args.map(String).join(' '))
    })
  }
  upstream.sim = new UpstreamSimulator({ adminKey: TEST_ADMIN_KEY })
  upstream.requests = []
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input, init)
    if (!request.url.startsWith(`${TEST_UPSTREAM_BASE_URL}/`)) {
      throw new Error(`test tried to reach the network: ${request.method} ${request.url}`)
    }
    upstream.requests.push(request)
    const simulated = new Request(
      request.url.replace(TEST_UPSTREAM_BASE_URL, 'http://sim/v1'),
      request,
    )
    try {
      return await upstream.sim.fetch(simulated)
    } catch (err) {
      // What workerd's fetch rejects with when a peer drops the connection.
      if (err instanceof DroppedConnection) throw new TypeError('Network connection lost.')
      throw err
    }
  })
  // A partner of its own per test, so rate-limit counts never carry over between tests.
  partner.name = `test-partner-${++partnerSerial}-${crypto.randomUUID().slice(0, 8)}`
  partner.key = await createPartner(partner.name)
})

afterEach(async () => {
  // A test that failed while holding the upstream leaves nothing waiting on it.
  upstream.sim.gate?.open()
  vi.restoreAllMocks()
  // No log line of any test may hold the admin key, the fragment a 401 quotes of it, or a partner key.
  for (const line of logs) {
    for (const secret of secrets) expect(line).not.toContain(secret)
  }
  await reset()
})
