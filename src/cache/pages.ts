import type { NormalizedQuery } from '../groups/schemas'
import { log } from '../log'

/** Bump when the stored format or the key scheme changes: old entries are then never read. */
export const CACHE_KEY_PREFIX = 'groups:v1'

/** KV refuses an `expirationTtl` under 60 s; freshness is kept by our own clock instead. */
const KV_MIN_EXPIRATION_TTL = 60

/** Stored beside each page, so freshness does not depend on KV's expiration. */
interface PageMetadata {
  /** When the page was fetched from the upstream, in epoch milliseconds. */
  storedAt: number
}

export interface CachedPage {
  text: string
  storedAt: number
}

/**
 * The key for a normalized query. Defaults are filled in and the fields come in a fixed order, so
 * equivalent queries share one entry. `after` is at most 128 characters, which keeps every key far
 * below KV's 512-byte limit.
 */
export function cacheKey(q: NormalizedQuery): string {
  return `${CACHE_KEY_PREFIX}:${q.order}:${q.limit}:${q.after ?? ''}`
}

/** Reads a stored page. A KV failure counts as a miss: the caller then goes to the upstream. */
export async function readPage(
  kv: KVNamespace,
  key: string,
  requestId: string,
): Promise<CachedPage | null> {
  try {
    const { value, metadata } = await kv.getWithMetadata<PageMetadata>(key, 'text')
    if (value === null || typeof metadata?.storedAt !== 'number') return null
    return { text: value, storedAt: metadata.storedAt }
  } catch (err) {
    log('warn', 'kv_read_failed', { requestId, key, error: errorText(err) })
    return null
  }
}

/** Stores a validated page. A KV failure (its 429 included) skips storing and is only logged. */
export async function writePage(
  kv: KVNamespace,
  key: string,
  page: CachedPage,
  ttlSeconds: number,
  requestId: string,
): Promise<void> {
  try {
    await kv.put(key, page.text, {
      metadata: { storedAt: page.storedAt } satisfies PageMetadata,
      expirationTtl: Math.max(KV_MIN_EXPIRATION_TTL, ttlSeconds),
    })
  } catch (err) {
    log('warn', 'kv_write_failed', { requestId, key, error: errorText(err) })
  }
}

/** Whole seconds a page has been stored, as the `Age` header counts them. */
export function ageSeconds(page: CachedPage, now: number): number {
  return Math.max(0, Math.floor((now - page.storedAt) / 1000))
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : 'unknown'
}
