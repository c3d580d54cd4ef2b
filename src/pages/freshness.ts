import type { RequestDirectives } from './directives'
import type { CachedPage } from './page'

/** How long a page may be served, past its fetch, in each way (RFC 5861's windows). */
export interface FreshnessPolicy {
  /** Served as fresh. */
  ttlSeconds: number
  /** Past fresh: served at once while it is refreshed in the background. */
  staleWhileRevalidateSeconds: number
  /** Past fresh: may stand in for an upstream that fails. */
  staleIfErrorSeconds: number
}

type Freshness = 'fresh' | 'stale-while-revalidate' | 'stale-if-error' | 'expired'

export function freshness(storedAt: number, now: number, policy: FreshnessPolicy): Freshness {
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

/** Whole seconds since the page was fetched (RFC 9111 `Age`). */
export function ageSeconds(storedAt: number, now: number): number {
  return Math.max(0, Math.floor((now - storedAt) / 1000))
}

/** How long a page is served without asking the upstream: fresh, then stale-while-revalidate. */
export function servedForSeconds(policy: FreshnessPolicy): number {
  return policy.ttlSeconds + policy.staleWhileRevalidateSeconds
}

/** How long a stored page is worth keeping: as long as any window may still serve it. */
export function keepSeconds(policy: FreshnessPolicy): number {
  return (
    policy.ttlSeconds + Math.max(policy.staleWhileRevalidateSeconds, policy.staleIfErrorSeconds)
  )
}

/** What the cache does for a request: RFC 9211's `fwd` says why it goes to the upstream. */
export type Decision =
  | { action: 'serve'; page: CachedPage; stale: boolean; revalidate: boolean }
  | { action: 'fetch'; fwd: 'uri-miss' | 'stale' | 'request'; fallback: CachedPage | null }
  | { action: 'refuse'; message: string }

/**
 * The one place that decides how a page of a given age serves a request: fresh -> served; within
 * stale-while-revalidate -> served and refreshed in the background; otherwise fetched, with a page
 * within stale-if-error standing in if the upstream fails. `max-age=N` accepts only a fresh page no
 * older than N seconds (RFC 9111 5.2.1.1); `only-if-cached` never fetches.
 */
export function decide(
  cached: CachedPage | null,
  directives: RequestDirectives,
  now: number,
  policy: FreshnessPolicy,
): Decision {
  const state = cached ? freshness(cached.storedAt, now, policy) : 'expired'
  const { maxAgeSeconds } = directives
  const tooOld =
    cached !== null &&
    maxAgeSeconds !== undefined &&
    (state !== 'fresh' || ageSeconds(cached.storedAt, now) > maxAgeSeconds)
  const usable = tooOld ? null : cached
  if (usable && (state === 'fresh' || state === 'stale-while-revalidate')) {
    const stale = state === 'stale-while-revalidate'
    return { action: 'serve', page: usable, stale, revalidate: stale && !directives.onlyIfCached }
  }
  if (directives.onlyIfCached) {
    return {
      action: 'refuse',
      message: notCachedMessage(cached, tooOld, maxAgeSeconds, now, policy),
    }
  }
  const fwd = directives.noCache || tooOld ? 'request' : cached ? 'stale' : 'uri-miss'
  return { action: 'fetch', fwd, fallback: usable && state === 'stale-if-error' ? usable : null }
}

function notCachedMessage(
  cached: CachedPage | null,
  tooOld: boolean,
  maxAge: number | undefined,
  now: number,
  policy: FreshnessPolicy,
): string {
  const tail = 'and the request asked for only-if-cached.'
  if (!cached) return `This page is not in the gateway\u2019s cache, ${tail}`
  const age = ageSeconds(cached.storedAt, now)
  const copy = `The gateway\u2019s copy of this page is ${age} seconds old`
  if (!tooOld) {
    return `${copy}, past the ${servedForSeconds(policy)} seconds it serves a page without asking the upstream, ${tail}`
  }
  return age > (maxAge ?? 0)
    ? `${copy}, older than the max-age=${maxAge} the request accepts, ${tail}`
    : `${copy}, no longer fresh, and the request's max-age accepts no stale page, ${tail}`
}
