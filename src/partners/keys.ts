/**
 * Partner keys: `gwp_` and 43 base64url characters (32 random bytes). Only the SHA-256 digest of a
 * key is ever stored; this module is shared by the worker and the `npm run partners` CLI.
 */
export const PARTNER_KEY_PREFIX = 'gwp_'
export const PARTNER_KEY_PATTERN = /^gwp_[A-Za-z0-9_-]{43}$/
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

export function generatePartnerKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return `${PARTNER_KEY_PREFIX}${base64url(bytes)}`
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

function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}
