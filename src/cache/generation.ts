import { log } from '../log'

/** Where the cache generation lives in the page cache namespace; purging writes a new one. */
export const GENERATION_KEY = 'groups:generation'
/** How long an isolate trusts the generation it read: with KV's read cache, the purge bound. */
export const GENERATION_TTL_MS = 10_000
const GENERATION_KV_CACHE_TTL_SECONDS = 30
const INITIAL_GENERATION = '0'

/**
 * The current cache generation, read from KV at most once per `GENERATION_TTL_MS` per isolate.
 * Every page key includes it, so writing a new generation makes every stored page unreachable at
 * once (they then expire on their own). If KV cannot be read, the last known value is kept.
 */
export function generationReader(): (kv: KVNamespace, now: number) => Promise<string> {
  let known: { value: string; expires: number } | undefined
  return async function currentGeneration(kv, now) {
    if (known && known.expires > now) return known.value
    let value = known?.value ?? INITIAL_GENERATION
    try {
      value =
        (await kv.get(GENERATION_KEY, { cacheTtl: GENERATION_KV_CACHE_TTL_SECONDS })) ??
        INITIAL_GENERATION
    } catch (err) {
      log('warn', 'kv_generation_read_failed', { error: err instanceof Error ? err.message : '?' })
    }
    known = { value, expires: now + GENERATION_TTL_MS }
    return value
  }
}
