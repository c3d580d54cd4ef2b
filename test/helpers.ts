import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { expect } from 'vitest'
import type { UpstreamSimulator } from '../simulator/upstream'
import { type AppOptions, createApp } from '../src/app'
import { ADMIN_KEY_TELLTALES } from './constants'

/** The simulated upstream of the current test and the requests it received (set by setup.ts). */
export const upstream = {
  sim: undefined as unknown as UpstreamSimulator,
  requests: [] as Request[],
}

/** Every line the worker logged during the current test, as written (set by setup.ts). */
export const logs: string[] = []

export interface CallOptions extends AppOptions {
  init?: RequestInit
  /** Bindings to use instead of the test's `env`, e.g. a failing KV or a missing secret. */
  env?: Env
}

/**
 * Calls a fresh app the way the runtime does and waits for its `waitUntil` work (the KV write), so
 * every test sees settled storage.
 */
export function call(path: string, options: CallOptions = {}): Promise<Response> {
  return dispatch(new Request(`https://gateway.test${path}`, options.init), options)
}

/** Like `call`, for a whole request: what a client such as the SDK sends. */
export async function dispatch(request: Request, options: CallOptions = {}): Promise<Response> {
  const app = createApp(options)
  const ctx = createExecutionContext()
  const res = await app.fetch(request, options.env ?? env, ctx)
  await waitOnExecutionContext(ctx)
  await expectNoAdminKey(res)
  return res
}

/** Fails the test if a response shows the admin key, or the fragment of it a 401 quotes. */
export async function expectNoAdminKey(res: Response): Promise<void> {
  const seen = `${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${await res.clone().text()}`
  for (const telltale of ADMIN_KEY_TELLTALES) expect(seen).not.toContain(telltale)
}

/** The page the upstream serves for a query, straight from the simulator. */
export async function upstreamPage(query: string): Promise<unknown> {
  const res = await upstream.sim.fetch(
    new Request(`http://sim/v1/organization/groups${query}`, {
      headers: { Authorization: `Bearer ${upstream.sim.adminKey}` },
    }),
  )
  return res.json()
}
