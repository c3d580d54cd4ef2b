import { ageSeconds, type FreshnessPolicy } from './freshness'
import type { CachedPage } from './page'

/** The cache's name in `Cache-Status` (RFC 9211). */
export const CACHE_NAME = 'groups-gateway'

/**
 * The headers that say what a served page is and how fresh it is. `max-age` is the page's whole
 * freshness lifetime and `Age` how much of it is spent, so a client computes what is left as
 * max-age - Age (RFC 9111, section 4.2.3) and never counts the age twice.
 */
export function pageHeaders(
  page: Pick<CachedPage, 'storedAt' | 'etag' | 'prewarmed'>,
  now: number,
  policy: FreshnessPolicy,
  cacheStatus: string,
): Record<string, string> {
  return {
    ETag: page.etag,
    // `prewarmed`: fetched by the pre-warm cron ahead of demand, not by a partner's request.
    'Cache-Status': `${CACHE_NAME}; ${cacheStatus}${page.prewarmed ? '; prewarmed' : ''}`,
    'Cache-Control': `private, max-age=${policy.ttlSeconds}`,
    Age: String(ageSeconds(page.storedAt, now)),
  }
}
