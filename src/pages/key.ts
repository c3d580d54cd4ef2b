import type { PageQuery } from '../upstream/query'

/** Bump when the stored format or the key scheme changes: old entries are then never read. */
export const CACHE_KEY_PREFIX = 'groups:v2'

/**
 * The key for a query in a cache generation. Defaults are filled in and the fields come in a fixed
 * order, so equivalent queries share one entry. `after` is at most 128 characters and the
 * generation a short number, which keeps every key far below KV's 512 bytes.
 */
export function cacheKey(generation: string, q: PageQuery): string {
  return `${CACHE_KEY_PREFIX}:${generation}:${q.order}:${q.limit}:${q.after ?? ''}`
}
