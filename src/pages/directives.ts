/** What a request's own cache directives ask of the gateway (RFC 9111, section 5.2.1). */
export interface RequestDirectives {
  /** `no-cache` or `max-age=0`: go to the upstream, then store what it says. */
  noCache: boolean
  /** `only-if-cached`: answer from the cache or with 504, never call the upstream. */
  onlyIfCached: boolean
}

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
  return {
    noCache: directives.some((d) => d === 'no-cache' || /^max-age=0+$/.test(d)),
    onlyIfCached: directives.includes('only-if-cached'),
  }
}

/** Whether `If-None-Match` matches a strong ETag (weak comparison, as RFC 9110 asks for it). */
export function ifNoneMatchMatches(header: string | null, etag: string): boolean {
  if (header === null) return false
  if (header.trim() === '*') return true
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)
}
