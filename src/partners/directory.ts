import { AppError } from '../errors'
import { errorText } from '../log'
import { digestKey, parseRecord, storageKey } from './keys'
import { type Partner, TIERS } from './model'

/** How long an isolate trusts a lookup. With KV's own read cache, this bounds revocation. */
export const PARTNER_LOOKUP_TTL_MS = 30_000
/** KV's edge read cache for partner records (its minimum). */
export const PARTNER_KV_CACHE_TTL_SECONDS = 30
const MAX_CACHED_LOOKUPS = 10_000
/** Shorter than this, a secret could be guessed; `openssl rand -base64 32` gives 44 characters. */
const MIN_SECRET_LENGTH = 32

export function readPartnerKeySecret(env: { PARTNER_KEY_SECRET?: string }): string {
  const secret = env.PARTNER_KEY_SECRET
  if (typeof secret === 'string' && secret.length >= MIN_SECRET_LENGTH) return secret
  throw new AppError('gateway_misconfigured', {
    detail: `The PARTNER_KEY_SECRET secret is not set or shorter than ${MIN_SECRET_LENGTH} characters: run \`wrangler secret put PARTNER_KEY_SECRET\` (see docs/RUNBOOK.md).`,
  })
}

/** The key in an `Authorization: Bearer` header (the scheme in any case, RFC 9110 11.1), or ''. */
export function bearerKey(header: string | null | undefined): string {
  return (header && /^bearer +(\S+) *$/i.exec(header)?.[1]) || ''
}

type Lookup = { partner: Partner | null; expires: number }

/**
 * Partners by key, looked up by the key's SHA-256, so no secret is compared byte by byte. Lookups
 * (misses too) are kept per isolate by the key as presented: a hot partner costs neither a hash nor
 * a KV read.
 */
export class PartnerDirectory {
  private readonly lookups = new Map<string, Lookup>()
  /** Refused keys apart, so a flood of them cannot push the real ones out. */
  private readonly refusals = new Map<string, Lookup>()

  /** The partner (null: refused) if this isolate looked the key up recently, else undefined. */
  peek(key: string, now: number): Partner | null | undefined {
    const lookup = this.lookups.get(key) ?? this.refusals.get(key)
    return lookup && lookup.expires > now ? lookup.partner : undefined
  }

  /** Looks a key up; only one with a valid check (`hasValidCheck`) is worth a KV read. */
  async find(kv: KVNamespace, key: string, now: number): Promise<Partner | null> {
    const known = this.peek(key, now)
    if (known !== undefined) return known
    const partner = await readPartner(kv, key)
    const [map, other] = partner ? [this.lookups, this.refusals] : [this.refusals, this.lookups]
    if (map.size >= MAX_CACHED_LOOKUPS) map.clear()
    map.set(key, { partner, expires: now + PARTNER_LOOKUP_TTL_MS })
    // One map at a time: an expired entry in the other would hide this one from peek.
    other.delete(key)
    return partner
  }
}

async function readPartner(kv: KVNamespace, key: string): Promise<Partner | null> {
  const options = { type: 'json', cacheTtl: PARTNER_KV_CACHE_TTL_SECONDS } as const
  const raw = await kv.get(storageKey(await digestKey(key)), options).catch((err: unknown) => {
    // Not the caller's fault, and no reason to let anyone in: ask them to retry.
    throw new AppError('auth_unavailable', { detail: `partner lookup failed: ${errorText(err)}` })
  })
  const record = parseRecord(raw)
  if (!record || record.disabled) return null
  return { name: record.name, tier: TIERS[record.tier ?? 'standard'] }
}
