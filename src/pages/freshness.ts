import type { RequestDirectives } from './directives'
import type { CachedPage } from './page'

/**
 * RFC 5861's windows, counted from a page's fetch: fresh, then served while it is refreshed in the
 * background (stale-while-revalidate), or standing in for an upstream that fails (stale-if-error).
 */
export interface FreshnessPolicy {
  ttlSeconds: number
  staleWhileRevalidateSeconds: number
  staleIfErrorSeconds: number
}

export function freshness(storedAt: number, now: number, policy: FreshnessPolicy) {
  const age = now - storedAt
  const ttlMs = policy.ttlSeconds * 1000
  if (age < ttlMs) return 'fresh'
  if (age < ttlMs + policy.staleWhileRevalidateSeconds * 1000) return 'stale-while-revalidate'
  if (age < ttlMs + policy.staleIfErrorSeconds * 1000) return 'stale-if-error'
  return 'expired'
}

/** Seconds of freshness left, negative once stale (RFC 9211 `ttl`). */
export function ttlLeft(storedAt: number, now: number, policy: FreshnessPolicy): number {
  return Math.floor((storedAt + policy.ttlSeconds * 1000 - now) / 1000)
}

/** RFC 9111 `Age`. */
export function ageSeconds(storedAt: number, now: number): number {
  return Math.max(0, Math.floor((now - storedAt) / 1000))
}

/** Whether what was learned at `at` answers `max-age=N`: fresh, and no older than N seconds. */
export function withinMaxAge(at: number, now: number, policy: FreshnessPolicy, maxAge: number) {
  return freshness(at, now, policy) === 'fresh' && ageSeconds(at, now) <= maxAge
}

/** How long a page is served without asking the upstream. */
export function servedForSeconds(policy: FreshnessPolicy): number {
  return policy.ttlSeconds + policy.staleWhileRevalidateSeconds
}

/** How long a stored page is worth keeping: as long as any window may still serve it. */
export function keepSeconds(p: FreshnessPolicy): number {
  return p.ttlSeconds + Math.max(p.staleWhileRevalidateSeconds, p.staleIfErrorSeconds)
}

/** Why the cache went to the upstream (RFC 9211 `fwd`). */
export type Forward = 'uri-miss' | 'stale' | 'request'

type Decision =
  | { action: 'serve'; page: CachedPage; stale: boolean; revalidate: boolean }
  | { action: 'fetch'; fwd: Forward; fallback: CachedPage | null }
  /** No `message`: the catalogue's own (the page is not cached at all). */
  | { action: 'refuse'; message?: string }

/**
 * The one place that decides what a cached page (if any) does for a request: served if fresh;
 * served and refreshed in the background within stale-while-revalidate; otherwise fetched, a page
 * within stale-if-error standing in if the upstream fails. `only-if-cached` never fetches.
 */
export function decide(
  cached: CachedPage | null,
  directives: RequestDirectives,
  now: number,
  policy: FreshnessPolicy,
): Decision {
  const { maxAgeSeconds: maxAge, onlyIfCached } = directives
  const tooOld =
    !!cached && maxAge !== undefined && !withinMaxAge(cached.storedAt, now, policy, maxAge)
  const state = cached && !tooOld ? freshness(cached.storedAt, now, policy) : 'expired'
  if (cached && (state === 'fresh' || state === 'stale-while-revalidate')) {
    const stale = state !== 'fresh'
    return { action: 'serve', page: cached, stale, revalidate: stale && !onlyIfCached }
  }
  if (onlyIfCached) {
    const tail = 'and the request asked for only-if-cached.'
    if (!cached) return { action: 'refuse' }
    const age = ageSeconds(cached.storedAt, now)
    const why = !tooOld
      ? `past the ${servedForSeconds(policy)} seconds it serves a page without asking the upstream`
      : age > (maxAge ?? 0)
        ? `older than the max-age=${maxAge} the request accepts`
        : `no longer fresh, and the request's max-age accepts no stale page`
    const message = `The gateway\u2019s copy of this page is ${age} seconds old, ${why}, ${tail}`
    return { action: 'refuse', message }
  }
  const fwd = directives.noCache || tooOld ? 'request' : cached ? 'stale' : 'uri-miss'
  return { action: 'fetch', fwd, fallback: state === 'stale-if-error' ? cached : null }
}
