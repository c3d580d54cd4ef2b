import type { CachedPage } from './page'

export interface MemoryLimits {
  maxEntries: number
  maxBytes: number
}

const encoder = new TextEncoder()

/**
 * The per-isolate tier in front of KV: least recently used pages, bounded by count and by bytes.
 * It holds what KV holds, with the same `storedAt`, so the same freshness rules apply to both; a
 * page here is kept once, as the bytes a hit serves, so it costs neither a KV read nor an encode.
 * Isolates never share it, and lose it when they are evicted: KV stays the cache of record.
 */
export class MemoryPages {
  private readonly entries = new Map<string, CachedPage & { body: Uint8Array<ArrayBuffer> }>()
  private bytes = 0

  get(key: string): CachedPage | undefined {
    const page = this.entries.get(key)
    if (page) {
      // Most recently used last: eviction takes from the front.
      this.entries.delete(key)
      this.entries.set(key, page)
    }
    return page
  }

  /**
   * Keeps a page unless a newer one is held (which it returns instead), or the tier cannot hold
   * it (off, or the page larger than the whole tier: then the page is returned as it came).
   */
  set(key: string, page: CachedPage, limits: MemoryLimits): CachedPage {
    const current = this.entries.get(key)
    if (current && current.storedAt >= page.storedAt) return current
    if (limits.maxEntries === 0) return page
    const body = typeof page.body === 'string' ? encoder.encode(page.body) : page.body
    if (body.byteLength > limits.maxBytes) return page
    const hot = { ...page, body: body as Uint8Array<ArrayBuffer> }
    this.delete(key)
    this.entries.set(key, hot)
    this.bytes += body.byteLength
    for (const [oldest, old] of this.entries) {
      if (this.entries.size <= limits.maxEntries && this.bytes <= limits.maxBytes) break
      this.entries.delete(oldest)
      this.bytes -= old.body.byteLength
    }
    return hot
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes }
  }

  private delete(key: string): void {
    const page = this.entries.get(key)
    if (!page) return
    this.entries.delete(key)
    this.bytes -= page.body.byteLength
  }
}
