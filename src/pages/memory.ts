import type { CachedPage } from './page'

export type MemoryLimits = { maxEntries: number; maxBytes: number }

/** Beyond an entry's bytes, key and ETag: its objects and Map entry (V8 takes about 150 bytes). */
export const ENTRY_OVERHEAD_BYTES = 256

/**
 * The per-isolate tier in front of KV: least recently used pages, bounded by count and bytes, kept
 * as the bytes a hit serves. Same `storedAt` as in KV, so the same freshness rules apply. Isolates
 * never share it and lose it when evicted: KV stays the cache of record.
 */
export class MemoryPages {
  private readonly entries = new Map<string, { page: CachedPage; size: number }>()
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

  /** Returns the page held: a newer one already there, or this page (held if it fits). */
  set(key: string, page: CachedPage, limits: MemoryLimits): CachedPage {
    const current = this.entries.get(key)
    if (current && current.page.storedAt >= page.storedAt) return current.page
    if (limits.maxEntries === 0) return page
    const body = typeof page.body === 'string' ? new TextEncoder().encode(page.body) : page.body
    // Key and ETag are ASCII: one byte a character.
    const size = body.byteLength + key.length + page.etag.length + ENTRY_OVERHEAD_BYTES
    if (size > limits.maxBytes) return page
    const hot: CachedPage = { ...page, body: body as Uint8Array<ArrayBuffer> }
    if (current) this.bytes -= current.size
    this.entries.delete(key)
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
}
