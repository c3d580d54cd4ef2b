import { base64url } from '../encoding'
import type { PageQuery } from '../upstream/schemas'

/** A page as the cache keeps it: the upstream's validated bytes. */
export interface CachedPage {
  /** Text from the upstream or KV; bytes in the isolate's memory tier. */
  body: string | Uint8Array<ArrayBuffer>
  /** When it was fetched, in epoch milliseconds on the gateway's clock. */
  storedAt: number
  etag: string
  prewarmed?: boolean
}

/** A strong validator: the first 128 bits of the body's SHA-256, base64url. */
export async function computeEtag(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return `"${base64url(new Uint8Array(digest, 0, 16))}"`
}

export function pageId(q: PageQuery): string {
  return `${q.order}:${q.limit}:${q.after ?? ''}`
}

/** Bump when the stored format or the key scheme changes: old entries are then never read. */
export const CACHE_KEY_PREFIX = 'groups:v2'

/** Equivalent queries share a key; `after` is at most 128 characters: far below KV's 512 bytes. */
export function cacheKey(generation: string, q: PageQuery): string {
  return `${CACHE_KEY_PREFIX}:${generation}:${pageId(q)}`
}
