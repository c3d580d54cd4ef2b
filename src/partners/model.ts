import type { TierName } from './keys'

/** An authenticated partner: its name keys its rate limit and the logs, never its key. */
export type Partner = { name: string; tier: Tier }

/** `limit` requests per `periodSeconds`, per partner, per Cloudflare location, by `binding`. */
export interface Tier {
  name: TierName
  binding: `RATE_LIMIT_${Uppercase<TierName>}`
  limit: number
  periodSeconds: 10 | 60
}

/**
 * A binding cannot report its settings, so they are mirrored here for `RateLimit-Policy`;
 * test/unit/tiers.test.ts fails when this and wrangler.toml disagree.
 */
export const TIERS: Record<TierName, Tier> = {
  restricted: {
    name: 'restricted',
    binding: 'RATE_LIMIT_RESTRICTED',
    limit: 10,
    periodSeconds: 10,
  },
  standard: { name: 'standard', binding: 'RATE_LIMIT_STANDARD', limit: 600, periodSeconds: 60 },
  elevated: { name: 'elevated', binding: 'RATE_LIMIT_ELEVATED', limit: 6000, periodSeconds: 60 },
}

/** Failed authentication per client address, mirrored like the tiers. */
export const AUTH_FAILURES = {
  binding: 'RATE_LIMIT_AUTH_FAILURES',
  limit: 30,
  periodSeconds: 60,
} as const
