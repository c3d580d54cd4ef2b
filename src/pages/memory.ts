import type { CachedPage } from './page'

/** A page held in the isolate, its bytes encoded once so a hit serves them as they are. */
export interface HotPage extends CachedPage {
  body: Uint8Array<ArrayBuffer>
}

export interface MemoryLimits {
  maxEntries: number
  maxBytes: number
}

const encoder = new TextEncoder()

/**
 * The per-isolate tier in front of KV: least recently used pages, bounded by count and by bytes.
 * It holds what KV holds, with the same `storedAt`, so the same freshness rules apply to both; a
 * hot page then costs neither a KV read nor a parse. Isolates never share it, and lose it when
 * they are evicted: KV stays the cache of record.
 */
export class MemoryPages {
  private readonly entries = new Map<string, HotPage>()
  private bytes = 0

  get(key: string): HotPage | undefined {
    const page = this.entries.get(key)
    if (page) {
      // Most recently used last: eviction takes from the front.
      this.entries.delete(key)
      this.entries.set(key, page)
    }
    return page
  }

  set(key: string, page: CachedPage, limits: MemoryLimits): HotPage {
    const hot: HotPage =
      'body' in page
        ? (page as HotPage)
        : { ...page, body: encoder.encode(page.text) as Uint8Array<ArrayBuffer> }
    const current = this.entries.get(key)
    if (current && current.storedAt >= hot.storedAt) return current
    if (limits.maxEntries === 0 || hot.body.byteLength > limits.maxBytes) return hot
    this.delete(key)
    this.entries.set(key, hot)
    this.bytes += hot.body.byteLength
    for (const [oldest, page] of this.entries) {
      if (this.entries.size <= limits.maxEntries && this.bytes <= limits.maxBytes) break
      this.entries.delete(oldest)
      this.bytes -= page.body.byteLength
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
