import { ageSeconds, type FreshnessPolicy } from './freshness'
import type { CachedPage } from './page'

/** The cache's name in `Cache-Status` (RFC 9211). */
export const CACHE_NAME = 'groups-gateway'

/** The headers that say what a served page is and how fresh it is. */
export function pageHeaders(
  page: Pick<CachedPage, 'storedAt' | 'etag'>,
  now: number,
  policy: FreshnessPolicy,
  cacheStatus: string,
): Record<string, string> {
  const age = ageSeconds(page.storedAt, now)
  return {
    ETag: page.etag,
    'Cache-Status': `${CACHE_NAME}; ${cacheStatus}`,
    'Cache-Control': `private, max-age=${Math.max(0, policy.ttlSeconds - age)}`,
    Age: String(age),
  }
}
