import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { expect } from 'vitest'
import type { UpstreamSimulator } from '../simulator/upstream'
import { createApp, createState } from '../src/app'
import { GENERATION_KEY } from '../src/pages/generation'
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
  return dispatch(authorized(path, options), options)
}

/** The request `call` sends for `path`: the test's partner key unless told otherwise. */
function authorized(path: string, options: CallOptions): Request {
  const request = new Request(`https://gateway.test${path}`, options.init)
  const key = options.key === undefined ? partner.key : options.key
  if (key !== null && !request.headers.has('authorization')) {
    request.headers.set('authorization', `Bearer ${key}`)
  }
  return request
}

/** Like `call`, for a whole request: what a client such as the SDK sends. */
export async function dispatch(request: Request, options: CallOptions = {}): Promise<Response> {
  const { res, settled } = await answer(request, options)
  await settled()
  return res
}

/** A response as the app gave it, while the work it left for after the answer may still run. */
export interface Answered {
  res: Response
  /**
   * Waits for the request's `waitUntil` work (storing the page, a shared fetch going on), then
   * fails the test if the response shows a secret.
   */
  settled(): Promise<void>
}

/**
 * Like `call`, but resolves as soon as the app answers, leaving its `waitUntil` work running: for
 * tests about what a caller gets while a fetch it joined is still held upstream.
 */
export function respond(path: string, options: CallOptions = {}): Promise<Answered> {
  return answer(authorized(path, options), options)
}

async function answer(request: Request, options: CallOptions): Promise<Answered> {
  const app = options.app ?? createGateway(options)
  const ctx = createExecutionContext()
  const res = await app.fetch(request, options.env ?? env, ctx)
  // Checked on a copy, so the test may read the response first.
  const copy = res.clone()
  return {
    res,
    settled: async () => {
      await waitOnExecutionContext(ctx)
      await expectNoSecrets(copy)
    },
  }
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

/** What of the page cache namespace `failingKv` makes fail, as KV can. */
export type KvFailure =
  /** Reading a stored page (any key but the cache generation's). */
  | 'page-read'
  /** Reading the cache generation (`GENERATION_KEY`). */
  | 'generation-read'
  /** Every write, with KV's 429. */
  | 'write'

/** The page cache namespace with the operations named failing, and the keys read from it. */
export function failingKv(...fail: KvFailure[]): KVNamespace & { readKeys: string[] } {
  const readKeys: string[] = []
  const failing = new Set(fail)
  return new Proxy(env.GROUPS_CACHE, {
    get(target, prop) {
      if (prop === 'readKeys') return readKeys
      const value = Reflect.get(target, prop)
      if (typeof value !== 'function') return value
      if (prop === 'get' || prop === 'getWithMetadata') {
        return (key: string, ...rest: unknown[]) => {
          readKeys.push(key)
          const what = key === GENERATION_KEY ? 'generation-read' : 'page-read'
          if (failing.has(what)) return Promise.reject(new Error('KV GET failed: 503'))
          return value.call(target, key, ...rest)
        }
      }
      if (prop === 'put' && failing.has('write')) {
        return () => Promise.reject(new Error('KV PUT failed: 429 Too Many Requests'))
      }
      return value.bind(target)
    },
  }) as KVNamespace & { readKeys: string[] }
}

/** The events of the current test's log lines, in order (`kv_read_failed`, `request`, ...). */
export function loggedEvents(): string[] {
  return logs.flatMap((line) => {
    try {
      const event = (JSON.parse(line) as { event?: unknown }).event
      return typeof event === 'string' ? [event] : []
    } catch {
      return []
    }
  })
}

/**
 * A rate limiting binding that answers from a script: call i gets `answers[i]`, the last answer
 * repeating (push more to go on). Records every key it was asked about.
 */
export function scriptedRateLimit(answers: Array<boolean | 'throw' | 'hang'>) {
  const keys: string[] = []
  const binding: RateLimit = {
    async limit({ key }) {
      const answer = answers[Math.min(keys.length, answers.length - 1)]
      keys.push(key)
      if (answer === 'throw') throw new Error('rate limiter unavailable')
      if (answer === 'hang') return new Promise(() => {})
      return { success: answer === true }
    },
  }
  return { binding, keys, answers }
}

/**
 * The page fetcher binding, watched: `asked(n)` resolves once `n` calls to a page's fetcher have
 * been made through it, all of them past the cache lookups of the requests that made them.
 */
export function watchedFetchers(target: Env['PAGE_FETCHER'] = env.PAGE_FETCHER) {
  let calls = 0
  const watchers: { n: number; resolve: () => void }[] = []
  const binding = new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop)
      if (prop !== 'get') return typeof value === 'function' ? value.bind(t) : value
      return (id: DurableObjectId) => {
        const stub = t.get(id)
        return new Proxy(stub, {
          get(s, name) {
            const method = Reflect.get(s, name)
            if (name !== 'fetchPage') return method
            return (...args: unknown[]) => {
              calls++
              for (const w of watchers.filter((w) => w.n <= calls)) {
                watchers.splice(watchers.indexOf(w), 1)
                w.resolve()
              }
              return (method as (...a: unknown[]) => unknown)(...args)
            }
          },
        })
      }
    },
  })
  return {
    binding,
    get calls() {
      return calls
    },
    asked(n: number): Promise<void> {
      if (calls >= n) return Promise.resolve()
      return new Promise((resolve) => watchers.push({ n, resolve }))
    },
  }
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
