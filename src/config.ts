import { AppError } from './errors'
import type { PageSettings } from './pages/deps'

/** What each var does, for the README's table (`npm run docs:tables`). */
export const VAR_DESCRIPTIONS = {
  OPENAI_BASE_URL: 'The Admin API base; `http` only for a loopback host.',
  CACHE_TTL_SECONDS: 'Seconds a page is served as fresh.',
  CACHE_STALE_WHILE_REVALIDATE_SECONDS: 'Seconds past fresh it is served while refreshed behind.',
  CACHE_STALE_IF_ERROR_SECONDS: 'Seconds past fresh it may stand in for a failing upstream.',
  UPSTREAM_TIMEOUT_MS: 'Bounds each upstream attempt, body included.',
  UPSTREAM_MAX_RETRIES: 'Retries of network errors, timeouts, 408, 409, 429 and 5xx.',
  UPSTREAM_BUDGET_MS: 'Bounds all attempts and the waits between.',
  UPSTREAM_RETRY_BASE_MS: 'The first backoff, doubled per retry (8 s at most), less 0-25 % jitter.',
  MEMORY_CACHE_MAX_ENTRIES: 'Pages each isolate keeps in memory in front of KV (0: off).',
  MEMORY_CACHE_MAX_BYTES: 'Bytes those pages may take, of the isolate\u2019s 128 MB.',
  PREWARM_MAX_PAGES: 'Upstream calls per pre-warm cron run at most (0: off).',
  PREWARM_FLUSH_SECONDS: 'How often an isolate sends its request counts to pre-warm.',
  CORS_ALLOWED_ORIGINS: 'Comma-separated exact origins a browser may call from (none: no CORS).',
}

/** A var's rule: its default, and for a number its bounds. Plain data, read once per isolate. */
type VarRule =
  | { kind: 'integer'; default: number; min: number; max: number }
  | { kind: 'url'; default: string }
  | { kind: 'origins'; default: string }

const integer = (fallback: number, min: number, max: number) =>
  ({ kind: 'integer', default: fallback, min, max }) as const

const DEFAULT_BASE_URL = 'https://api.openai.com/v1'
const LOOPBACK = ['127.0.0.1', 'localhost', '[::1]']

/** The worker's vars, each with its bounds and default (and the README's table, generated). */
export const VARS = {
  OPENAI_BASE_URL: { kind: 'url', default: DEFAULT_BASE_URL } as const,
  CACHE_TTL_SECONDS: integer(60, 1, 86_400),
  CACHE_STALE_WHILE_REVALIDATE_SECONDS: integer(300, 0, 604_800),
  CACHE_STALE_IF_ERROR_SECONDS: integer(86_400, 0, 604_800),
  UPSTREAM_TIMEOUT_MS: integer(5_000, 1, 120_000),
  UPSTREAM_MAX_RETRIES: integer(2, 0, 10),
  UPSTREAM_BUDGET_MS: integer(12_000, 1, 300_000),
  UPSTREAM_RETRY_BASE_MS: integer(500, 0, 60_000),
  MEMORY_CACHE_MAX_ENTRIES: integer(512, 0, 100_000),
  MEMORY_CACHE_MAX_BYTES: integer(32 * 1024 * 1024, 0, 96 * 1024 * 1024),
  PREWARM_MAX_PAGES: integer(5, 0, 100),
  PREWARM_FLUSH_SECONDS: integer(60, 0, 3_600),
  CORS_ALLOWED_ORIGINS: { kind: 'origins', default: '' } as const,
} satisfies Record<keyof typeof VAR_DESCRIPTIONS, VarRule>

type VarName = keyof typeof VARS
type Vars = {
  [K in VarName]: (typeof VARS)[K]['kind'] extends 'integer'
    ? number
    : (typeof VARS)[K]['kind'] extends 'origins'
      ? ReadonlySet<string>
      : string
}

declare global {
  /** The vars, all optional: `wrangler.toml` sets only what differs from the defaults. */
  interface Env extends Partial<Record<VarName, string>> {}
}

/** A var's value, or why it is refused (`<name> <why>.`, never the value: it goes to the log). */
function readVar(name: VarName, raw: string | undefined): number | string | ReadonlySet<string> {
  const rule: VarRule = VARS[name]
  if (rule.kind === 'origins') return new Set((raw ?? '').split(',').flatMap((o) => o.trim() || []))
  if (rule.kind === 'url') {
    const value = raw?.trim() || rule.default
    const url = URL.parse(value)
    // The admin key travels with every call: never in plain text beyond this machine.
    const loopback = url?.protocol === 'http:' && LOOPBACK.includes(url.hostname)
    if (url?.protocol === 'https:' || loopback) return value.replace(/\/+$/, '')
    throw misconfigured(`${name} must use https (http only for a loopback host).`)
  }
  if (raw === undefined || raw.trim() === '') return rule.default
  if (/^\d+$/.test(raw.trim()) && +raw >= rule.min && +raw <= rule.max) return +raw
  throw misconfigured(`${name} must be an integer from ${rule.min} to ${rule.max}.`)
}

const misconfigured = (detail: string) => new AppError('gateway_misconfigured', { detail })

/** Every var read from `env`, in the table's order: the first malformed one throws. */
function readVars(env: Partial<Record<VarName, string>>): Vars {
  const vars: Record<string, unknown> = {}
  for (const name of Object.keys(VARS) as VarName[]) vars[name] = readVar(name, env[name])
  return vars as Vars
}

/** Every var at its default: what a worker with no `[vars]` runs with. */
export function defaultVars(): Vars {
  return readVars({})
}

/** `CORS_ALLOWED_ORIGINS` as the set of exact origins it lists. */
export function readOrigins(raw: string): ReadonlySet<string> {
  return readVar('CORS_ALLOWED_ORIGINS', raw) as ReadonlySet<string>
}

/** The page service's settings, as read from the vars. */
export type Config = PageSettings

const configs = new WeakMap<object, Config>()

/**
 * The page service's settings from the vars, parsed once per bindings object (one per isolate in
 * production). A malformed var is the operator's to fix: a 500, and a log line naming it (never
 * its value). `CORS_ALLOWED_ORIGINS` is read apart (http/cors.ts): it applies to every route.
 */
export function readConfig(env: Env): Config {
  const known = configs.get(env)
  if (known) return known
  const v = readVars(env)
  const config: Config = {
    freshness: {
      ttlSeconds: v.CACHE_TTL_SECONDS,
      staleWhileRevalidateSeconds: v.CACHE_STALE_WHILE_REVALIDATE_SECONDS,
      staleIfErrorSeconds: v.CACHE_STALE_IF_ERROR_SECONDS,
    },
    upstream: {
      baseUrl: v.OPENAI_BASE_URL,
      timeoutMs: v.UPSTREAM_TIMEOUT_MS,
      maxRetries: v.UPSTREAM_MAX_RETRIES,
      budgetMs: v.UPSTREAM_BUDGET_MS,
      retryBaseMs: v.UPSTREAM_RETRY_BASE_MS,
    },
    prewarm: { maxPages: v.PREWARM_MAX_PAGES, flushMs: v.PREWARM_FLUSH_SECONDS * 1000 },
    memory: { maxEntries: v.MEMORY_CACHE_MAX_ENTRIES, maxBytes: v.MEMORY_CACHE_MAX_BYTES },
  }
  configs.set(env, config)
  return config
}
