import type { NormalizedQuery } from '../groups/schemas'
import { log } from '../log'

/** Bump when the stored format or the key scheme changes: old entries are then never read. */
export const CACHE_KEY_PREFIX = 'groups:v2'

/** KV refuses an `expirationTtl` under 60 s; freshness is kept by our own clock instead. */
const KV_MIN_EXPIRATION_TTL = 60

/** Stored beside each page, so freshness does not depend on KV's expiration. */
interface PageMetadata {
  /** When the page was fetched from the upstream, in epoch milliseconds. */
  storedAt: number
  /** The strong validator served as `ETag`, computed once when the page was fetched. */
  etag: string
}

export interface CachedPage {
  text: string
  storedAt: number
  etag: string
}

/**
 * The key for a normalized query in the current cache generation. Defaults are filled in and the
 * fields come in a fixed order, so equivalent queries share one entry. `after` is at most 128
 * characters and the generation a short number, which keeps every key far below KV's 512 bytes.
 */
export function cacheKey(generation: string, q: NormalizedQuery): string {
  return `${CACHE_KEY_PREFIX}:${generation}:${q.order}:${q.limit}:${q.after ?? ''}`
}

/** Reads a stored page. A KV failure counts as a miss: the caller then goes to the upstream. */
export async function readPage(
  kv: KVNamespace,
  key: string,
  requestId: string,
): Promise<CachedPage | null> {
  try {
    const { value, metadata } = await kv.getWithMetadata<PageMetadata>(key, 'text')
    if (value === null || typeof metadata?.storedAt !== 'number' || !metadata.etag) return null
    return { text: value, storedAt: metadata.storedAt, etag: metadata.etag }
  } catch (err) {
    log('warn', 'kv_read_failed', { requestId, key, error: errorText(err) })
    return null
  }
}

/** Stores a validated page. A KV failure (its 429 included) skips storing and is only logged. */
export async function writePage(
  kv: KVNamespace,
  key: string,
  page: CachedPage,
  keepSeconds: number,
  requestId: string,
): Promise<void> {
  try {
    await kv.put(key, page.text, {
      metadata: { storedAt: page.storedAt, etag: page.etag } satisfies PageMetadata,
      expirationTtl: Math.max(KV_MIN_EXPIRATION_TTL, Math.ceil(keepSeconds)),
    })
  } catch (err) {
    log('warn', 'kv_write_failed', { requestId, key, error: errorText(err) })
  }
}

/** A strong validator for a page's bytes: the first 128 bits of their SHA-256, base64url. */
export async function computeEtag(text: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)),
  )
  let binary = ''
  for (const b of digest.subarray(0, 16)) binary += String.fromCharCode(b)
  return `"${btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}"`
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : 'unknown'
}
