import { log } from '../log'

/** Where the cache generation lives in the page cache namespace; purging writes a new one. */
export const GENERATION_KEY = 'groups:generation'
/** How long an isolate trusts the generation it read: with KV's read cache, the purge bound. */
export const GENERATION_TTL_MS = 10_000
/** KV's edge read cache for the generation (its minimum). */
export const GENERATION_KV_CACHE_TTL_SECONDS = 30
const INITIAL_GENERATION = '0'

/**
 * The current cache generation, read from KV at most once per `GENERATION_TTL_MS` per isolate.
 * Every page key includes it, so writing a new generation makes every stored page unreachable at
 * once (they then expire on their own).
 */
export class CacheGeneration {
  private known: { value: string; expires: number } | undefined

  /** The generation if this isolate read it recently enough, else undefined. */
  peek(now: number): string | undefined {
    return this.known && this.known.expires > now ? this.known.value : undefined
  }

  /**
   * The generation, or null when it cannot be known (KV unreadable and nothing read before): the
   * caller must then neither read nor store pages, or it could bring purged pages back.
   */
  async current(kv: KVNamespace, now: number): Promise<string | null> {
    if (this.known && this.known.expires > now) return this.known.value
    try {
      const value =
        (await kv.get(GENERATION_KEY, { cacheTtl: GENERATION_KV_CACHE_TTL_SECONDS })) ??
        INITIAL_GENERATION
      this.known = { value, expires: now + GENERATION_TTL_MS }
      return value
    } catch (err) {
      log('warn', 'kv_generation_read_failed', { error: err instanceof Error ? err.message : '?' })
      // The last value read is still the best knowledge there is; none at all means no cache.
      return this.known?.value ?? null
    }
  }

  /** Starts a new generation: every page stored so far becomes unreachable. */
  async purge(kv: KVNamespace, now: number): Promise<string> {
    const value = newGeneration(now)
    await kv.put(GENERATION_KEY, value)
    this.known = { value, expires: now + GENERATION_TTL_MS }
    return value
  }
}

/** Time-based, so two purges never need to read each other's value. Shared with the CLI. */
export function newGeneration(now: number): string {
  return now.toString(36)
}
