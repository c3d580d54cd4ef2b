/** Why the cache went to the upstream (RFC 9211 `fwd`). */
export type Forward = 'uri-miss' | 'stale' | 'request'

/** What the cache did for a request: said in `Cache-Status`, the log line and the data point. */
export type CacheOutcome =
  /** `stale`: served within stale-while-revalidate. `ttl`: seconds of freshness left. */
  | { kind: 'hit' | 'stale'; ttl: number }
  /** `collapsed`: another caller's fetch answered; `uncached`: the cache could not be used. */
  | { kind: 'fetched'; fwd: Forward; ttl: number; how: 'stored' | 'collapsed' | 'uncached' }
  | { kind: 'stale-if-error'; fwd: Forward; fwdStatus: number | null; ttl: number }
  /** `shared`: another caller's failure, moments old, answered without a new call. */
  | { kind: 'failed'; fwd: Forward; fwdStatus: number | null; shared: boolean }
  /** `only-if-cached` that the cache could not answer. */
  | { kind: 'not-cached' }

/** The `Cache-Status` field (RFC 9211); `prewarmed` when the cron fetched the page. */
export function cacheStatus(o: CacheOutcome, prewarmed = false): string {
  const parts = ['groups-gateway']
  if (o.kind === 'hit' || o.kind === 'stale') parts.push('hit', `ttl=${o.ttl}`)
  if (o.kind === 'stale') parts.push('detail=stale-while-revalidate')
  if ('fwd' in o) parts.push(`fwd=${o.fwd}`)
  if (o.kind === 'fetched') {
    const how = o.how === 'uncached' ? 'detail=cache-unavailable' : o.how
    parts.push('fwd-status=200', how, `ttl=${o.ttl}`)
  }
  if ('fwdStatus' in o && o.fwdStatus) parts.push(`fwd-status=${o.fwdStatus}`)
  if (o.kind === 'stale-if-error') parts.push(`ttl=${o.ttl}`, 'detail=stale-if-error')
  if (o.kind === 'failed' && o.shared) parts.push('collapsed', 'detail=failure-shared')
  if (o.kind === 'not-cached') parts.push('detail=only-if-cached')
  if (prewarmed) parts.push('prewarmed')
  return parts.join('; ')
}
