/** A request's cache directives (RFC 9111 5.2.1); the README says why some are not read. */
export interface RequestDirectives {
  /** `no-cache`, `max-age=0` or `Pragma: no-cache`: go to the upstream, then store its answer. */
  noCache: boolean
  /** Answer from the cache or with 504, never call the upstream. */
  onlyIfCached: boolean
  /** Only a fresh page no older than this (RFC 9111 5.2.1.1). */
  maxAgeSeconds?: number
}

/** RFC 9111 1.2.2: a delta-seconds too large to represent is taken as 2^31. */
const MAX_DELTA_SECONDS = 2 ** 31

export function readDirectives(headers: Headers): RequestDirectives {
  const cacheControl = headers.get('cache-control')?.toLowerCase()
  if (cacheControl === undefined) {
    const noCache = /(^|,)\s*no-cache\s*(,|$)/i.test(headers.get('pragma') ?? '')
    return { noCache, onlyIfCached: false }
  }
  const directives = cacheControl.trim().split(/\s*,\s*/)
  // Token or quoted form (RFC 9111 5.2); a malformed value is ignored; of several, the strictest.
  const maxAges = directives.flatMap((d) => /^max-age=("?)(\d+)\1$/.exec(d)?.[2] ?? []).map(Number)
  const maxAgeSeconds = maxAges.length > 0 ? Math.min(...maxAges, MAX_DELTA_SECONDS) : undefined
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
