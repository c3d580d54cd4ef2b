import { z } from 'zod'
import { AppError } from './errors'
import type { PageSettings } from './pages/service'

/** A var's documentation, read by `npm run docs:tables` for the README's table. */
export interface VarDoc {
  description: string
  default: string | number
  range?: string
}

const integer = (fallback: number, min: number, max: number, description: string) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return fallback
      const value = Number(raw)
      if (/^\d+$/.test(raw.trim()) && value >= min && value <= max) return value
      ctx.addIssue({ code: 'custom', message: `must be an integer from ${min} to ${max}` })
      return z.NEVER
    })
    .meta({ description, default: fallback, range: `${min}..${max}` } satisfies VarDoc)

const LOOPBACK = ['127.0.0.1', 'localhost', '[::1]']

/**
 * The worker's vars: each with its bounds, default and meaning, in one place. `wrangler.toml` sets
 * only what differs from these defaults.
 */
export const VarsSchema = z.object({
  OPENAI_BASE_URL: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const value = raw?.trim() || 'https://api.openai.com/v1'
      const url = URL.parse(value)
      // The admin key travels with every call: never in plain text beyond this machine.
      const loopback = url?.protocol === 'http:' && LOOPBACK.includes(url.hostname)
      if (url?.protocol === 'https:' || loopback) return value.replace(/\/+$/, '')
      ctx.addIssue({ code: 'custom', message: 'must use https (http only for a loopback host)' })
      return z.NEVER
    })
    .meta({
      description: 'The Admin API base; `http` only for a loopback host.',
      default: 'https://api.openai.com/v1',
    } satisfies VarDoc),
  CACHE_TTL_SECONDS: integer(60, 1, 86_400, 'Seconds a page is served as fresh.'),
  CACHE_STALE_WHILE_REVALIDATE_SECONDS: integer(
    300,
    0,
    604_800,
    'Seconds past fresh a page is still served at once, refreshed in the background.',
  ),
  CACHE_STALE_IF_ERROR_SECONDS: integer(
    86_400,
    0,
    604_800,
    'Seconds past fresh a page may stand in for a failing upstream.',
  ),
  UPSTREAM_TIMEOUT_MS: integer(5_000, 1, 120_000, 'Bounds each upstream attempt, body included.'),
  UPSTREAM_MAX_RETRIES: integer(
    2,
    0,
    10,
    'Retries after the first attempt: network errors, timeouts, 408, 409, 429, 5xx.',
  ),
  UPSTREAM_BUDGET_MS: integer(12_000, 1, 300_000, 'Bounds all attempts and the waits between.'),
  UPSTREAM_RETRY_BASE_MS: integer(
    500,
    0,
    60_000,
    'The first backoff, doubled per retry (8 s at most), less up to 25 % jitter.',
  ),
  MEMORY_CACHE_MAX_ENTRIES: integer(
    512,
    0,
    100_000,
    'Pages each isolate keeps in memory in front of KV (0: off).',
  ),
  MEMORY_CACHE_MAX_BYTES: integer(
    32 * 1024 * 1024,
    0,
    96 * 1024 * 1024,
    'Bytes those pages may take, of the isolate\u2019s 128 MB.',
  ),
  PREWARM_MAX_PAGES: integer(5, 0, 100, 'Upstream calls per pre-warm cron run at most (0: off).'),
  PREWARM_FLUSH_SECONDS: integer(
    60,
    0,
    3_600,
    'How often an isolate sends its request counts to the pre-warm ranking.',
  ),
  CORS_ALLOWED_ORIGINS: z
    .string()
    .optional()
    .transform(
      (raw) =>
        new Set(
          (raw ?? '')
            .split(',')
            .map((o) => o.trim())
            .filter(Boolean),
        ),
    )
    .meta({
      description: 'Comma-separated exact origins a browser may call from; empty: no CORS at all.',
      default: '',
    } satisfies VarDoc),
})

declare global {
  /** The vars, all optional: `wrangler.toml` sets only what differs from the defaults. */
  interface Env extends Partial<Record<keyof typeof VarsSchema.shape, string>> {}
}

/** Every var at its default: what a worker with no `[vars]` runs with. */
export function defaultVars(): z.output<typeof VarsSchema> {
  return VarsSchema.parse({})
}

/** The worker's settings. `CORS_ALLOWED_ORIGINS` is read apart (http/cors.ts): it applies to every route. */
export type Config = PageSettings

const configs = new WeakMap<object, Config>()

/**
 * The settings from the vars, parsed once per bindings object (one per isolate in production). A
 * malformed var is the operator's to fix: logged by name, never by value; the caller gets a 500.
 */
export function readConfig(env: Env): Config {
  let config = configs.get(env)
  if (!config) {
    config = parse(env as unknown as Record<string, string | undefined>)
    configs.set(env, config)
  }
  return config
}

function parse(env: Record<string, string | undefined>): Config {
  const result = VarsSchema.safeParse(env)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw new AppError('gateway_misconfigured', {
      detail: `${String(issue?.path[0])} ${issue?.message ?? 'is invalid'}.`,
    })
  }
  const v = result.data
  return {
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
}
