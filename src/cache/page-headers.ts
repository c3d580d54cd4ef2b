import type { CachedPage } from './pages'

/** The cache's name in `Cache-Status` (RFC 9211). */
export const CACHE_NAME = 'groups-gateway'

/** Seconds of freshness left, negative once stale (RFC 9211 `ttl`). */
export function ttlLeft(page: CachedPage, now: number, ttlSeconds: number): number {
  return Math.floor((page.storedAt + ttlSeconds * 1000 - now) / 1000)
}

/** The headers that say what a served page is and how fresh: the same on every path. */
export function pageHeaders(
  page: CachedPage,
  now: number,
  ttlSeconds: number,
  cacheStatus: string,
): Record<string, string> {
  const age = Math.max(0, Math.floor((now - page.storedAt) / 1000))
  return {
    ETag: page.etag,
    'Cache-Status': `${CACHE_NAME}; ${cacheStatus}`,
    'Cache-Control': `private, max-age=${Math.max(0, ttlSeconds - age)}`,
    Age: String(age),
  }
}
