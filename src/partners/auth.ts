import type { MiddlewareHandler } from 'hono'
import { AppError } from '../errors'
import type { AppBindings } from '../types'
import { digestKey, PARTNER_KEY_PATTERN, type PartnerRecord, parseRecord, storageKey } from './keys'
import { DEFAULT_TIER, TIERS } from './tiers'

/** How long an isolate trusts a lookup. With KV's own read cache, this bounds revocation. */
export const PARTNER_LOOKUP_TTL_MS = 30_000
/** KV's edge read cache for partner records (its minimum). */
export const PARTNER_KV_CACHE_TTL_SECONDS = 30
const MAX_CACHED_LOOKUPS = 10_000

/** One 401 for every kind of bad key, so a caller learns nothing about which check failed. */
export function unauthorized(): AppError {
  return new AppError(401, {
    message:
      "Missing or invalid partner key. Send your key as 'Authorization: Bearer <key>'; ask the gateway's operators for one.",
    type: 'invalid_request_error',
    code: 'invalid_api_key',
    headers: { 'WWW-Authenticate': 'Bearer realm="groups-gateway"' },
  })
}

interface CachedLookup {
  record: PartnerRecord | null
  expires: number
}

/**
 * Requires `Authorization: Bearer <partner key>`. The key is hashed and looked up by its SHA-256
 * digest, so no secret is ever compared byte by byte. Lookups (misses included) are kept per
 * isolate for `PARTNER_LOOKUP_TTL_MS`.
 */
export function partnerAuth(now: () => number): MiddlewareHandler<AppBindings> {
  const lookups = new Map<string, CachedLookup>()

  return async function partnerAuthMiddleware(c, next) {
    const header = c.req.header('authorization')
    const key = header?.startsWith('Bearer ') ? header.slice(7).trim() : ''
    // A malformed key (the admin key included) is refused before any lookup.
    if (!PARTNER_KEY_PATTERN.test(key)) throw unauthorized()

    const digest = await digestKey(key)
    const t = now()
    let cached = lookups.get(digest)
    if (!cached || cached.expires <= t) {
      cached = {
        record: await readPartner(c.env.PARTNERS, digest),
        expires: t + PARTNER_LOOKUP_TTL_MS,
      }
      if (lookups.size >= MAX_CACHED_LOOKUPS) lookups.clear()
      lookups.set(digest, cached)
    }
    const record = cached.record
    if (!record || record.disabled) throw unauthorized()
    c.set('partner', { name: record.name, tier: TIERS[record.tier ?? DEFAULT_TIER] })
    await next()
  }
}

async function readPartner(kv: KVNamespace, digest: string): Promise<PartnerRecord | null> {
  let raw: unknown
  try {
    raw = await kv.get(storageKey(digest), { type: 'json', cacheTtl: PARTNER_KV_CACHE_TTL_SECONDS })
  } catch (err) {
    // Not the caller's fault, and not a reason to let anyone in: ask them to retry.
    throw new AppError(503, {
      message: 'The gateway cannot check partner keys right now. Please retry.',
      type: 'server_error',
      code: 'auth_unavailable',
      headers: { 'Retry-After': '1' },
      detail: `partner lookup failed: ${err instanceof Error ? err.message : 'unknown'}`,
    })
  }
  return parseRecord(raw)
}
