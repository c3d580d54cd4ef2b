/** How long a page may be served, past its fetch, in each way (RFC 5861's windows). */
export interface FreshnessPolicy {
  /** Served as fresh. */
  ttlSeconds: number
  /** Past fresh: served at once while it is refreshed in the background. */
  staleWhileRevalidateSeconds: number
  /** Past fresh: may stand in for an upstream that fails. */
  staleIfErrorSeconds: number
}

export type Freshness = 'fresh' | 'stale-while-revalidate' | 'stale-if-error' | 'expired'

/** The one place that decides how a page of a given age may be used. */
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

/** How long a stored page is worth keeping: as long as any window may still serve it. */
export function keepSeconds(policy: FreshnessPolicy): number {
  return (
    policy.ttlSeconds + Math.max(policy.staleWhileRevalidateSeconds, policy.staleIfErrorSeconds)
  )
}
