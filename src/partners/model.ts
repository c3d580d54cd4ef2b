import type { TierName } from './keys'

/** An authenticated partner: its name keys its rate limit and appears in the logs, never its key. */
export interface Partner {
  name: string
  tier: Tier
}

export interface Tier {
  name: TierName
  /** The rate limiting binding that enforces it (declared in wrangler.toml). */
  binding: 'RATE_LIMIT_RESTRICTED' | 'RATE_LIMIT_STANDARD' | 'RATE_LIMIT_ELEVATED'
  /** Requests per period, per partner, per Cloudflare location. */
  limit: number
  periodSeconds: 10 | 60
}

/**
 * The binding cannot report its own settings, so they are mirrored here for the `RateLimit-Policy`
 * header; test/unit/tiers.test.ts fails when this table and wrangler.toml disagree.
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

export const DEFAULT_TIER: TierName = 'standard'

/** Failed authentication per client address (mirrors its binding in wrangler.toml, like the tiers). */
export const AUTH_FAILURES = {
  binding: 'RATE_LIMIT_AUTH_FAILURES',
  limit: 30,
  periodSeconds: 60,
} as const
