import { AppError } from './errors'

import type { PageSettings } from './pages/service'

/** The worker's settings, parsed once per isolate from its vars. */
export type Config = PageSettings

export const DEFAULT_UPSTREAM_BASE_URL = 'https://api.openai.com/v1'
export const DEFAULT_CACHE_TTL_SECONDS = 60
export const DEFAULT_STALE_WHILE_REVALIDATE_SECONDS = 300
export const DEFAULT_STALE_IF_ERROR_SECONDS = 86_400
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 5_000
export const DEFAULT_UPSTREAM_MAX_RETRIES = 2
export const DEFAULT_UPSTREAM_BUDGET_MS = 12_000
export const DEFAULT_UPSTREAM_RETRY_BASE_MS = 500
export const DEFAULT_MEMORY_CACHE_MAX_ENTRIES = 512
export const DEFAULT_PREWARM_MAX_PAGES = 5
export const DEFAULT_PREWARM_FLUSH_SECONDS = 60
/** A quarter of an isolate's 128 MB, shared by all its requests. */
export const DEFAULT_MEMORY_CACHE_MAX_BYTES = 32 * 1024 * 1024

const configs = new WeakMap<object, Config>()

/**
 * Reads the vars into a typed config. A malformed var is an operator error: it is logged by name
 * (never by value) and the caller gets a generic 500.
 */
export function readConfig(env: Env): Config {
  // Bindings are one object per isolate in production: parse them once, not per request.
  let config = configs.get(env)
  if (!config) {
    config = parseConfig(env)
    configs.set(env, config)
  }
  return config
}

function parseConfig(env: Env): Config {
  return {
    freshness: {
      ttlSeconds: readInteger(
        'CACHE_TTL_SECONDS',
        env.CACHE_TTL_SECONDS,
        DEFAULT_CACHE_TTL_SECONDS,
        1,
        86_400,
      ),
      staleWhileRevalidateSeconds: readInteger(
        'CACHE_STALE_WHILE_REVALIDATE_SECONDS',
        env.CACHE_STALE_WHILE_REVALIDATE_SECONDS,
        DEFAULT_STALE_WHILE_REVALIDATE_SECONDS,
        0,
        604_800,
      ),
      staleIfErrorSeconds: readInteger(
        'CACHE_STALE_IF_ERROR_SECONDS',
        env.CACHE_STALE_IF_ERROR_SECONDS,
        DEFAULT_STALE_IF_ERROR_SECONDS,
        0,
        604_800,
      ),
    },
    upstream: {
      baseUrl: readBaseUrl(env.OPENAI_BASE_URL),
      timeoutMs: readInteger(
        'UPSTREAM_TIMEOUT_MS',
        env.UPSTREAM_TIMEOUT_MS,
        DEFAULT_UPSTREAM_TIMEOUT_MS,
        1,
        120_000,
      ),
      maxRetries: readInteger(
        'UPSTREAM_MAX_RETRIES',
        env.UPSTREAM_MAX_RETRIES,
        DEFAULT_UPSTREAM_MAX_RETRIES,
        0,
        10,
      ),
      budgetMs: readInteger(
        'UPSTREAM_BUDGET_MS',
        env.UPSTREAM_BUDGET_MS,
        DEFAULT_UPSTREAM_BUDGET_MS,
        1,
        300_000,
      ),
      retryBaseMs: readInteger(
        'UPSTREAM_RETRY_BASE_MS',
        env.UPSTREAM_RETRY_BASE_MS,
        DEFAULT_UPSTREAM_RETRY_BASE_MS,
        0,
        60_000,
      ),
    },
    prewarm: {
      maxPages: readInteger(
        'PREWARM_MAX_PAGES',
        env.PREWARM_MAX_PAGES,
        DEFAULT_PREWARM_MAX_PAGES,
        0,
        100,
      ),
      flushMs:
        readInteger(
          'PREWARM_FLUSH_SECONDS',
          env.PREWARM_FLUSH_SECONDS,
          DEFAULT_PREWARM_FLUSH_SECONDS,
          0,
          3_600,
        ) * 1000,
    },
    memory: {
      maxEntries: readInteger(
        'MEMORY_CACHE_MAX_ENTRIES',
        env.MEMORY_CACHE_MAX_ENTRIES,
        DEFAULT_MEMORY_CACHE_MAX_ENTRIES,
        0,
        100_000,
      ),
      maxBytes: readInteger(
        'MEMORY_CACHE_MAX_BYTES',
        env.MEMORY_CACHE_MAX_BYTES,
        DEFAULT_MEMORY_CACHE_MAX_BYTES,
        0,
        96 * 1024 * 1024,
      ),
    },
  }
}

function readBaseUrl(raw: string | undefined): string {
  const value = raw?.trim() || DEFAULT_UPSTREAM_BASE_URL
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw AppError.misconfigured('OPENAI_BASE_URL is not an absolute URL.')
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    // The admin key travels with every call: never in plain text beyond this machine.
    throw AppError.misconfigured('OPENAI_BASE_URL must use https (http only for a loopback host).')
  }
  return value.replace(/\/+$/, '')
}

function readInteger(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined || raw.trim() === '') return fallback
  const value = Number(raw)
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
    throw AppError.misconfigured(`${name} must be an integer from ${min} to ${max}.`)
  }
  return value
}
