import { log } from '../log'

export const GENERATION_KEY = 'groups:generation'
/** How long an isolate trusts the generation it read: with KV's read cache, the purge bound. */
export const GENERATION_TTL_MS = 10_000
/** KV's edge read cache for the generation (its minimum). */
export const GENERATION_KV_CACHE_TTL_SECONDS = 30

/**
 * Every page key includes the generation, so a purge (a new generation) makes every stored page
 * unreachable at once; they then expire on their own. Read at most once per `GENERATION_TTL_MS`.
 */
export class CacheGeneration {
  private known: { value: string; expires: number } | undefined

  /** Null when unknown (KV unreadable, never read): then no cache, or purged pages come back. */
  async current(kv: KVNamespace, now: number): Promise<string | null> {
    if (this.known && this.known.expires > now) return this.known.value
    try {
      const cacheTtl = GENERATION_KV_CACHE_TTL_SECONDS
      return this.remember((await kv.get(GENERATION_KEY, { cacheTtl })) ?? '0', now)
    } catch (err) {
      log('warn', 'kv_generation_read_failed', { error: err instanceof Error ? err.message : '?' })
      return this.known?.value ?? null
    }
  }

  async purge(kv: KVNamespace, now: number): Promise<string> {
    const value = newGeneration(now)
    await kv.put(GENERATION_KEY, value)
    return this.remember(value, now)
  }

  private remember(value: string, now: number): string {
    this.known = { value, expires: now + GENERATION_TTL_MS }
    return value
  }
}

/** Time-based, so two purges never need to read each other's value. Shared with the CLI. */
export function newGeneration(now: number): string {
  return now.toString(36)
}
