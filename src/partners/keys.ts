import { base64url } from '../encoding'

/**
 * Partner keys: `gwp_`, 43 base64url characters (32 random bytes), `.`, and a 22-character check
 * value: the HMAC-SHA256 of what precedes it under `PARTNER_KEY_SECRET`, cut to 16 bytes. A key
 * without a valid check was made up: it is refused on that alone, with no lookup. Only the SHA-256
 * digest of a whole key is ever stored. Shared by the worker and `npm run partners`.
 */
export const PARTNER_KEY_PATTERN = /^gwp_[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/
export const PARTNER_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/
/** KV keys of partner records in the PARTNERS namespace: `partner:<hex sha-256 of the key>`. */
export const PARTNER_STORAGE_PREFIX = 'partner:'

export const TIER_NAMES = ['restricted', 'standard', 'elevated'] as const
export type TierName = (typeof TIER_NAMES)[number]

/** Stored per key as the value and as list metadata (which stays under KV's 1024 bytes). */
export interface PartnerRecord {
  name: string
  /** ISO 8601. */
  createdAt: string
  /** Absent: `standard`. */
  tier?: TierName
  /** Refused like an unknown key, the record kept. */
  disabled?: boolean
}

export async function generatePartnerKey(secret: string): Promise<string> {
  const id = `gwp_${base64url(crypto.getRandomValues(new Uint8Array(32)))}`
  return `${id}.${await checkValue(secret, id)}`
}

let hmac: { secret: string; key: Promise<CryptoKey> } | null = null

/** The check value of a key's id under `secret`; the HMAC key is imported once per isolate. */
async function checkValue(secret: string, id: string): Promise<string> {
  if (hmac?.secret !== secret) {
    const raw = new TextEncoder().encode(secret)
    const algorithm = { name: 'HMAC', hash: 'SHA-256' }
    hmac = { secret, key: crypto.subtle.importKey('raw', raw, algorithm, false, ['sign']) }
  }
  const mac = await crypto.subtle.sign('HMAC', await hmac.key, new TextEncoder().encode(id))
  return base64url(new Uint8Array(mac, 0, 16))
}

/** Whether a key is well formed with a valid check: one HMAC, no I/O. */
export async function hasValidCheck(key: string, secret: string): Promise<boolean> {
  if (!PARTNER_KEY_PATTERN.test(key)) return false
  const [id = '', given = ''] = key.split('.')
  const bytes = (text: string) => new TextEncoder().encode(text)
  // Constant time: a guess learns nothing from how long its refusal took.
  return crypto.subtle.timingSafeEqual(bytes(await checkValue(secret, id)), bytes(given))
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
  const { name, createdAt, tier, disabled } = (raw ?? {}) as Record<string, unknown>
  if (typeof name !== 'string' || typeof createdAt !== 'string') return null
  const known = TIER_NAMES.find((t) => t === tier)
  return { name, createdAt, ...(known && { tier: known }), ...(disabled === true && { disabled }) }
}
