import type { CachedPage } from './page'

export interface MemoryLimits {
  maxEntries: number
  maxBytes: number
}

const encoder = new TextEncoder()

/**
 * What an entry costs beyond its page's bytes, key and ETag: the page object, its Map entry and
 * the typed array's header, rounded up (V8 objects of this shape take about 150 bytes).
 */
export const ENTRY_OVERHEAD_BYTES = 256

type HotPage = CachedPage & { body: Uint8Array<ArrayBuffer> }

/**
 * The per-isolate tier in front of KV: least recently used pages, bounded by count and by bytes.
 * It holds what KV holds, with the same `storedAt`, so the same freshness rules apply to both; a
 * page here is kept once, as the bytes a hit serves, so it costs neither a KV read nor an encode.
 * Isolates never share it, and lose it when they are evicted: KV stays the cache of record.
 */
export class MemoryPages {
  private readonly entries = new Map<string, { page: HotPage; size: number }>()
  private bytes = 0

  get(key: string): CachedPage | undefined {
    const entry = this.entries.get(key)
    if (entry) {
      // Most recently used last: eviction takes from the front.
      this.entries.delete(key)
      this.entries.set(key, entry)
    }
    return entry?.page
  }

  /**
   * Keeps a page unless a newer one is held (which it returns instead), or the tier cannot hold
   * it (off, or the page larger than the whole tier: then the page is returned as it came).
   */
  set(key: string, page: CachedPage, limits: MemoryLimits): CachedPage {
    const current = this.entries.get(key)?.page
    if (current && current.storedAt >= page.storedAt) return current
    if (limits.maxEntries === 0) return page
    const body = typeof page.body === 'string' ? encoder.encode(page.body) : page.body
    // Every byte the entry holds: the page's bytes, its key and ETag (one byte a character: both
    // are ASCII), and the objects around them.
    const size = body.byteLength + key.length + page.etag.length + ENTRY_OVERHEAD_BYTES
    if (size > limits.maxBytes) return page
    const hot: HotPage = {
      body: body as Uint8Array<ArrayBuffer>,
      storedAt: page.storedAt,
      etag: page.etag,
      ...(page.prewarmed ? { prewarmed: true } : {}),
    }
    this.delete(key)
    this.entries.set(key, { page: hot, size })
    this.bytes += size
    for (const [oldest, old] of this.entries) {
      if (this.entries.size <= limits.maxEntries && this.bytes <= limits.maxBytes) break
      this.entries.delete(oldest)
      this.bytes -= old.size
    }
    return hot
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes }
  }

  private delete(key: string): void {
    const entry = this.entries.get(key)
    if (!entry) return
    this.entries.delete(key)
    this.bytes -= entry.size
  }
}
