import { base64url } from '../encoding'

/**
 * Partner keys: `gwp_`, 43 base64url characters (32 random bytes), `.`, and a 22-character check
 * value: the HMAC-SHA256 of what precedes it under the gateway's `PARTNER_KEY_SECRET`, cut to 16
 * bytes. A key without a valid check was made up: it is refused on that alone, with no lookup. Only
 * the SHA-256 digest of a whole key is ever stored. Shared by the worker and `npm run partners`.
 */
export const PARTNER_KEY_PREFIX = 'gwp_'
export const PARTNER_KEY_PATTERN = /^gwp_[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/
export const PARTNER_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/
/** KV keys of partner records in the PARTNERS namespace: `partner:<hex sha-256 of the key>`. */
export const PARTNER_STORAGE_PREFIX = 'partner:'

export const TIER_NAMES = ['restricted', 'standard', 'elevated'] as const
export type TierName = (typeof TIER_NAMES)[number]

/** What is stored per key (as the value and as list metadata, which stays under KV's 1024 bytes). */
export interface PartnerRecord {
  name: string
  /** ISO 8601. */
  createdAt: string
  /** Rate-limit tier; absent means the default (`standard`). */
  tier?: TierName
  /** A disabled partner is refused like an unknown key, without deleting its record. */
  disabled?: boolean
}

/** A new key, its check value made under `secret`. */
export async function generatePartnerKey(secret: string): Promise<string> {
  const id = `${PARTNER_KEY_PREFIX}${base64url(crypto.getRandomValues(new Uint8Array(32)))}`
  return `${id}.${base64url(await checkBytes(secret, id))}`
}

/** The check value of a key's id under `secret`: 16 bytes of HMAC-SHA256. */
async function checkBytes(secret: string, id: string): Promise<Uint8Array> {
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret), new TextEncoder().encode(id))
  return new Uint8Array(mac, 0, 16)
}

let imported: { secret: string; key: Promise<CryptoKey> } | null = null

/** The secret as an HMAC key, imported once per isolate (and again only if the secret changes). */
function hmacKey(secret: string): Promise<CryptoKey> {
  if (imported?.secret !== secret) {
    const raw = new TextEncoder().encode(secret)
    const key = crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
    ])
    imported = { secret, key }
  }
  return imported.key
}

/**
 * Whether a key is well formed and carries a valid check under `secret`: one HMAC, no I/O. Compared
 * in constant time, so a guess learns nothing from how long the refusal took.
 */
export async function hasValidCheck(key: string, secret: string): Promise<boolean> {
  if (!PARTNER_KEY_PATTERN.test(key)) return false
  const dot = key.indexOf('.')
  const expected = base64url(await checkBytes(secret, key.slice(0, dot)))
  const given = key.slice(dot + 1)
  let diff = 0
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ given.charCodeAt(i)
  return diff === 0
}

export async function digestKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key))
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

export function storageKey(digest: string): string {
  return `${PARTNER_STORAGE_PREFIX}${digest}`
}

/** Reads a stored record defensively: anything malformed counts as no partner. */
export function parseRecord(raw: unknown): PartnerRecord | null {
  if (typeof raw !== 'object' || raw === null) return null
  const r = raw as Record<string, unknown>
  if (typeof r.name !== 'string' || typeof r.createdAt !== 'string') return null
  const tier = TIER_NAMES.find((t) => t === r.tier)
  return {
    name: r.name,
    createdAt: r.createdAt,
    ...(tier ? { tier } : {}),
    ...(r.disabled === true ? { disabled: true } : {}),
  }
}
