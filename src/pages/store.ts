import { errorText, log } from '../log'
import type { PageDeps } from './deps'
import { freshness, keepSeconds } from './freshness'
import type { CachedPage } from './page'

/** KV refuses an `expirationTtl` under 60 s; freshness is kept by our own clock instead. */
const KV_MIN_EXPIRATION_TTL = 60

type PageMetadata = Pick<CachedPage, 'storedAt' | 'etag' | 'prewarmed'>

/** A KV failure counts as a miss: the caller then goes to the upstream. */
export async function readPage(kv: KVNamespace, key: string, requestId: string) {
  try {
    const { value, metadata } = await kv.getWithMetadata<PageMetadata>(key, 'text')
    if (value === null || typeof metadata?.storedAt !== 'number' || !metadata.etag) return null
    const page: CachedPage = { body: value, storedAt: metadata.storedAt, etag: metadata.etag }
    return metadata.prewarmed ? { ...page, prewarmed: true } : page
  } catch (err) {
    log('warn', 'kv_read_failed', { requestId, key, error: errorText(err) })
    return null
  }
}

/** Memory if fresh there, else KV, whose page (if newer: another isolate refreshed it) is kept. */
export async function lookup(deps: PageDeps, key: string, now: number): Promise<CachedPage | null> {
  const hot = deps.state.memory.get(key)
  if (hot && freshness(hot.storedAt, now, deps.settings.freshness) === 'fresh') return hot
  const stored = await readPage(deps.kv, key, deps.requestId)
  if (!stored) return hot ?? null
  return deps.state.memory.set(key, stored, deps.settings.memory)
}

/** Keeps a page in memory, and in KV if this caller led the fetch; a KV failure is only logged. */
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
