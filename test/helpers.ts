import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { expect } from 'vitest'
import type { UpstreamSimulator } from '../simulator/upstream'
import { createApp, createState } from '../src/app'
import { digestKey, generatePartnerKey, type PartnerRecord, storageKey } from '../src/partners/keys'
import { ADMIN_KEY_TELLTALES, TEST_PARTNER_KEY_SECRET } from './constants'

/** The simulated upstream of the current test and the requests it received (set by setup.ts). */
export const upstream = {
  sim: undefined as unknown as UpstreamSimulator,
  requests: [] as Request[],
}

/** Every line the worker logged during the current test, as written (set by setup.ts). */
export const logs: string[] = []

/** Secrets no response or log line may show: the admin key's telltales and every partner key. */
export const secrets: string[] = [...ADMIN_KEY_TELLTALES]

/** The partner `call` authenticates as by default; a fresh one per test (set by setup.ts). */
export const partner = { name: '', key: '' }

/** Stores a partner as `npm run partners -- create` does, and returns its key. */
export async function createPartner(
  name: string,
  extra: Partial<Pick<PartnerRecord, 'tier' | 'disabled'>> = {},
): Promise<string> {
  const key = await generatePartnerKey(TEST_PARTNER_KEY_SECRET)
  secrets.push(key)
  const record: PartnerRecord = { name, createdAt: new Date().toISOString(), ...extra }
  await env.PARTNERS.put(storageKey(await digestKey(key)), JSON.stringify(record), {
    metadata: record,
  })
  return key
}

/** A gateway as an isolate holds one: its own memory tier, key lookups and rate-limit counts. */
export function createGateway(options: Parameters<typeof createState>[0] = {}) {
  return createApp(createState(options))
}

export interface CallOptions {
  /** The gateway clock, in epoch milliseconds, for a fresh gateway. */
  now?: () => number
  init?: RequestInit
  /** The bearer key to send; `null` sends none. Defaults to the test's partner. */
  key?: string | null
  /** Bindings to use instead of the test's `env`, e.g. a failing KV or a missing secret. */
  env?: Env
  /** A gateway to reuse, to see its per-isolate state (memory tier, lookups, rate limits). */
  app?: ReturnType<typeof createGateway>
}

/**
 * Calls a fresh app the way the runtime does and waits for its `waitUntil` work (the KV write), so
 * every test sees settled storage.
 */
export function call(path: string, options: CallOptions = {}): Promise<Response> {
  const request = new Request(`https://gateway.test${path}`, options.init)
  const key = options.key === undefined ? partner.key : options.key
  if (key !== null && !request.headers.has('authorization')) {
    request.headers.set('authorization', `Bearer ${key}`)
  }
  return dispatch(request, options)
}

/** Like `call`, for a whole request: what a client such as the SDK sends. */
export async function dispatch(request: Request, options: CallOptions = {}): Promise<Response> {
  const app = options.app ?? createGateway(options)
  const ctx = createExecutionContext()
  const res = await app.fetch(request, options.env ?? env, ctx)
  await waitOnExecutionContext(ctx)
  await expectNoSecrets(res)
  return res
}

/** Fails the test if a response shows the admin key (or the fragment a 401 quotes) or a partner key. */
export async function expectNoSecrets(res: Response): Promise<void> {
  const seen = `${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${await res.clone().text()}`
  for (const secret of secrets) expect(seen).not.toContain(secret)
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

/** The page cache namespace with its reads, its writes, or both failing as KV can. */
export function failingKv(fail: 'read' | 'write' | 'both'): KVNamespace {
  return new Proxy(env.GROUPS_CACHE, {
    get(target, prop) {
      if ((prop === 'getWithMetadata' || prop === 'get') && fail !== 'write') {
        return () => Promise.reject(new Error('KV GET failed: 503'))
      }
      if (prop === 'put' && fail !== 'read') {
        return () => Promise.reject(new Error('KV PUT failed: 429 Too Many Requests'))
      }
      const value = Reflect.get(target, prop)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/**
 * Local windows are clock-aligned: runs `attempt` (which must use a partner of its own) again, once,
 * if a window boundary fell inside it, so a refusal it expects is not lost to a new window.
 */
export async function withinOneWindow<T>(
  periodSeconds: number,
  attempt: () => Promise<T>,
): Promise<T> {
  const window = () => Math.floor(Date.now() / (periodSeconds * 1000))
  for (let i = 0; i < 2; i++) {
    const started = window()
    const result = await attempt()
    if (window() === started) return result
  }
  throw new Error('two window boundaries in a row: the run is far slower than expected')
}

/** A KV namespace that counts its reads (`get`), for tests that bound them. */
export function countingReads(target: KVNamespace): { kv: KVNamespace; reads: number } {
  const counter = { kv: target, reads: 0 }
  counter.kv = new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop)
      if (typeof value !== 'function') return value
      if (prop !== 'get') return value.bind(t)
      return (...args: unknown[]) => {
        counter.reads++
        return value.apply(t, args)
      }
    },
  })
  return counter
}
