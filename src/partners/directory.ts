import { AppError } from '../errors'
import { errorText } from '../log'
import { digestKey, PARTNER_KEY_PATTERN, parseRecord, storageKey } from './keys'
import { DEFAULT_TIER, type Partner, TIERS } from './model'

/** How long an isolate trusts a lookup. With KV's own read cache, this bounds revocation. */
export const PARTNER_LOOKUP_TTL_MS = 30_000
/** KV's edge read cache for partner records (its minimum). */
export const PARTNER_KV_CACHE_TTL_SECONDS = 30
const MAX_CACHED_LOOKUPS = 10_000

/** One 401 for every kind of bad key, so a caller learns nothing about which check failed. */
export function unauthorized(): AppError {
  return new AppError('invalid_api_key')
}

/** Shorter than this, a secret could be guessed; `openssl rand -base64 32` gives 44 characters. */
const MIN_SECRET_LENGTH = 32

/** The partner-key secret, read where keys are checked; a missing one is the operator's to fix. */
export function readPartnerKeySecret(env: { PARTNER_KEY_SECRET?: string }): string {
  const secret = env.PARTNER_KEY_SECRET
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw new AppError('gateway_misconfigured', {
      detail: `The PARTNER_KEY_SECRET secret is not set or shorter than ${MIN_SECRET_LENGTH} characters: run \`wrangler secret put PARTNER_KEY_SECRET\` (see docs/RUNBOOK.md).`,
    })
  }
  return secret
}

const BEARER = /^bearer +(\S+) *$/i

/** The key in an `Authorization: Bearer` header (the scheme in any case, RFC 9110 11.1), or ''. */
export function bearerKey(header: string | null | undefined): string {
  return (header && BEARER.exec(header)?.[1]) || ''
}

interface Lookup {
  /** null: no such partner, or disabled. */
  partner: Partner | null
  expires: number
}

/**
 * Partner keys, looked up by the SHA-256 digest of the key presented, so no secret is ever
 * compared byte by byte. Each isolate keeps lookups (misses included) for `PARTNER_LOOKUP_TTL_MS`,
 * keyed by the key as presented: a hot partner then costs neither a hash nor a KV read. The keys
 * live only in this isolate's memory, as the requests that carry them do.
 */
export class PartnerDirectory {
  private readonly lookups = new Map<string, Lookup>()
  /** Refused keys apart, so a flood of made-up keys cannot push the real ones out. */
  private readonly refusals = new Map<string, Lookup>()

  /** The partner for a key if this isolate looked it up recently; undefined if it must ask KV. */
  peek(key: string, now: number): Partner | null | undefined {
    const lookup = this.lookups.get(key) ?? this.refusals.get(key)
    return lookup && lookup.expires > now ? lookup.partner : undefined
  }

  async find(kv: KVNamespace, key: string, now: number): Promise<Partner | null> {
    const known = this.peek(key, now)
    if (known !== undefined) return known
    // A malformed key (the admin key included) is refused before any lookup.
    const partner = PARTNER_KEY_PATTERN.test(key)
      ? await readPartner(kv, await digestKey(key))
      : null
    const [map, other] = partner ? [this.lookups, this.refusals] : [this.refusals, this.lookups]
    if (map.size >= MAX_CACHED_LOOKUPS) map.clear()
    map.set(key, { partner, expires: now + PARTNER_LOOKUP_TTL_MS })
    // A key is in one map at a time: an expired entry in the other would hide this one from peek.
    other.delete(key)
    return partner
  }
}

async function readPartner(kv: KVNamespace, digest: string): Promise<Partner | null> {
  let raw: unknown
  try {
    raw = await kv.get(storageKey(digest), { type: 'json', cacheTtl: PARTNER_KV_CACHE_TTL_SECONDS })
  } catch (err) {
    // Not the caller's fault, and not a reason to let anyone in: ask them to retry.
    throw new AppError('auth_unavailable', { detail: `partner lookup failed: ${errorText(err)}` })
  }
  const record = parseRecord(raw)
  return record && !record.disabled
    ? { name: record.name, tier: TIERS[record.tier ?? DEFAULT_TIER] }
    : null
}
