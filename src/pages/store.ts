import { errorText, log } from '../log'
import type { PageDeps } from './deps'
import { freshness, keepSeconds } from './freshness'
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

/**
 * The page for a key from the fastest tier that has it fresh: the isolate's memory, else KV (whose
 * page, if newer, then replaces the one in memory: another isolate may have refreshed it).
 */
export async function lookup(deps: PageDeps, key: string, now: number): Promise<CachedPage | null> {
  const { memory } = deps.state
  const hot = memory.get(key)
  if (hot && freshness(hot.storedAt, now, deps.settings.freshness) === 'fresh') return hot
  const stored = await readPage(deps.kv, key, deps.requestId)
  if (!stored) return hot ?? null
  if (hot && hot.storedAt >= stored.storedAt) return hot
  return memory.set(key, stored, deps.settings.memory)
}

/**
 * Keeps a fetched page in this isolate's memory, and in KV if this caller led the fetch. A KV
 * failure (its 429 included) skips storing and is only logged.
 */
export async function keep(deps: PageDeps, key: string, page: CachedPage, leader: boolean) {
  deps.state.memory.set(key, page, deps.settings.memory)
  if (!leader) return
  const metadata: PageMetadata = { storedAt: page.storedAt, etag: page.etag }
  if (page.prewarmed) metadata.prewarmed = true
  const ttl = Math.max(KV_MIN_EXPIRATION_TTL, Math.ceil(keepSeconds(deps.settings.freshness)))
  try {
    await deps.kv.put(key, page.body, { metadata, expirationTtl: ttl })
  } catch (err) {
    log('warn', 'kv_write_failed', { requestId: deps.requestId, key, error: errorText(err) })
  }
}
