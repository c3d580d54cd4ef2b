/**
 * What a request's own cache directives ask of the gateway (RFC 9111, section 5.2.1). `no-store`,
 * `min-fresh` and `max-stale` are not read: the README's cache section says why.
 */
export interface RequestDirectives {
  /** `no-cache`, `max-age=0` or `Pragma: no-cache`: go to the upstream, then store what it says. */
  noCache: boolean
  /** `only-if-cached`: answer from the cache or with 504, never call the upstream. */
  onlyIfCached: boolean
  /**
   * `max-age=N`: no page older than N seconds, and none stale (RFC 9111 5.2.1.1); a page that is
   * goes to the upstream as `no-cache` does. Absent: no limit but the cache's own.
   */
  maxAgeSeconds?: number
}

/** RFC 9111 1.2.2: a delta-seconds too large to represent is taken as 2^31. */
const MAX_DELTA_SECONDS = 2 ** 31

export function readDirectives(headers: Headers): RequestDirectives {
  const cacheControl = headers.get('cache-control')
  if (cacheControl === null) {
    return {
      noCache: /(^|,)\s*no-cache\s*(,|$)/i.test(headers.get('pragma') ?? ''),
      onlyIfCached: false,
    }
  }
  const directives = cacheControl
    .toLowerCase()
    .split(',')
    .map((d) => d.trim())
  // Recipients accept both the token and the quoted form (RFC 9111 5.2); a malformed value is
  // ignored, and of several the strictest holds.
  const maxAges = directives.flatMap((d) => {
    const value = /^max-age=("?)(\d+)\1$/.exec(d)?.[2]
    return value === undefined ? [] : [Math.min(Number(value), MAX_DELTA_SECONDS)]
  })
  const maxAgeSeconds = maxAges.length > 0 ? Math.min(...maxAges) : undefined
  return {
    noCache: directives.includes('no-cache') || maxAgeSeconds === 0,
    onlyIfCached: directives.includes('only-if-cached'),
    ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}),
  }
}

/** Whether `If-None-Match` matches a strong ETag (weak comparison, as RFC 9110 asks for it). */
export function ifNoneMatchMatches(header: string | null, etag: string): boolean {
  if (header === null) return false
  if (header.trim() === '*') return true
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)
}
