import { reset } from 'cloudflare:test'
import { afterEach, beforeEach, vi } from 'vitest'
import { DroppedConnection, UpstreamSimulator } from '../simulator/upstream'
import { TEST_ADMIN_KEY, TEST_UPSTREAM_BASE_URL } from './constants'
import { upstream } from './helpers'

/** Every outbound fetch goes to the simulator; anything else fails the test, never the network. */
beforeEach(() => {
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
})

afterEach(async () => {
  vi.restoreAllMocks()
  await reset()
})
