import { errorText, log } from '../log'
import type { CachedPage } from './page'

/** KV refuses an `expirationTtl` under 60 s; freshness is kept by our own clock instead. */
const KV_MIN_EXPIRATION_TTL = 60

/** Stored beside each page, so freshness does not depend on KV's expiration. */
interface PageMetadata {
  storedAt: number
  etag: string
  prewarmed?: boolean
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
    const page = { body: value, storedAt: metadata.storedAt, etag: metadata.etag }
    return metadata.prewarmed ? { ...page, prewarmed: true } : page
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
    await kv.put(key, page.body, {
      metadata: {
        storedAt: page.storedAt,
        etag: page.etag,
        ...(page.prewarmed ? { prewarmed: true } : {}),
      } satisfies PageMetadata,
      expirationTtl: Math.max(KV_MIN_EXPIRATION_TTL, Math.ceil(keepSeconds)),
    })
  } catch (err) {
    log('warn', 'kv_write_failed', { requestId, key, error: errorText(err) })
  }
}
