import { base64url } from '../encoding'
import type { PageQuery } from '../upstream/query'

/** A page as the cache keeps it: the upstream's validated bytes, when they were fetched, their ETag. */
export interface CachedPage {
  /** As the upstream sent it: text from the upstream or KV, bytes in the isolate's memory tier. */
  body: string | Uint8Array<ArrayBuffer>
  /** When the page was fetched from the upstream, in epoch milliseconds on the gateway's clock. */
  storedAt: number
  /** A strong validator of `body`, computed once when the page was fetched. */
  etag: string
  /** Fetched by the pre-warm cron, ahead of demand (said in `Cache-Status`). */
  prewarmed?: boolean
}

/** A strong validator for a page's bytes: the first 128 bits of their SHA-256, base64url. */
export async function computeEtag(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return `"${base64url(new Uint8Array(digest, 0, 16))}"`
}

/** A page's identity within a generation: order, limit, cursor. */
export function pageId(q: PageQuery): string {
  return `${q.order}:${q.limit}:${q.after ?? ''}`
}

/** Bump when the stored format or the key scheme changes: old entries are then never read. */
export const CACHE_KEY_PREFIX = 'groups:v2'

/**
 * The KV key for a query in a cache generation: defaults filled in, fields in a fixed order, so
 * equivalent queries share one entry; `after` (at most 128 characters) keeps it far below 512 bytes.
 */
export function cacheKey(generation: string, q: PageQuery): string {
  return `${CACHE_KEY_PREFIX}:${generation}:${pageId(q)}`
}
