import { describe, expect, it } from 'vitest'
import { defaultVars } from '../../src/config'
import { ENTRY_OVERHEAD_BYTES, MemoryPages } from '../../src/pages/memory'

const page = (text: string, storedAt = 1) => ({ body: text, storedAt, etag: `"${text}"` })
const text = (p: { body: string | Uint8Array } | undefined) =>
  p === undefined
    ? undefined
    : typeof p.body === 'string'
      ? p.body
      : new TextDecoder().decode(p.body)

describe('the memory tier', () => {
  it('evicts the least recently used page past its entry bound', () => {
    const pages = new MemoryPages()
    const limits = { maxEntries: 2, maxBytes: 1_000 }
    pages.set('a', page('A'), limits)
    pages.set('b', page('B'), limits)
    pages.get('a')
    pages.set('c', page('C'), limits)
    expect(pages.get('b')).toBeUndefined()
    expect(text(pages.get('a'))).toBe('A')
    expect(text(pages.get('c'))).toBe('C')
  })

  /** What one entry counts: its page's bytes, key and ETag, and the objects around them. */
  const cost = (key: string, body: string) =>
    new TextEncoder().encode(body).byteLength +
    key.length +
    `"${body}"`.length +
    ENTRY_OVERHEAD_BYTES

  it('keeps every byte it holds under the byte bound, and never holds a page larger than it', () => {
    const pages = new MemoryPages()
    const limits = { maxEntries: 100, maxBytes: 2 * cost('a', 'aaaa') + 10 }
    pages.set('a', page('aaaa'), limits)
    pages.set('b', page('bbbb'), limits)
    pages.set('c', page('cccc'), limits)
    expect(pages.size).toEqual({ entries: 2, bytes: 2 * cost('a', 'aaaa') })
    pages.set('big', page('x'.repeat(limits.maxBytes)), limits)
    expect(pages.get('big')).toBeUndefined()
  })

  it('counts bytes as UTF-8, as they are served, and keeps each page once', () => {
    const pages = new MemoryPages()
    pages.set('a', page('Équipe 🚀'), { maxEntries: 10, maxBytes: 1_000 })
    expect(pages.size.bytes).toBe(cost('a', 'Équipe 🚀'))
    const held = pages.get('a')
    expect(held?.body).toBeInstanceOf(Uint8Array)
    expect(Object.keys(held ?? {}).sort()).toEqual(['body', 'etag', 'storedAt'])
    expect(text(held)).toBe('Équipe 🚀')
  })

  it('stays within its default bounds when filled far past them', () => {
    const pages = new MemoryPages()
    const limits = {
      maxEntries: defaultVars().MEMORY_CACHE_MAX_ENTRIES,
      maxBytes: defaultVars().MEMORY_CACHE_MAX_BYTES,
    }
    // 1,000 pages of 200 KB (a page of 1,000 groups), then 2,000 small ones: 200 MB offered.
    const big = 'g'.repeat(200_000)
    for (let i = 0; i < 1_000; i++) pages.set(`groups:v2:0:asc:1000:group_${i}`, page(big), limits)
    expect(pages.size.bytes).toBeLessThanOrEqual(defaultVars().MEMORY_CACHE_MAX_BYTES)
    expect(pages.size.entries).toBe(
      Math.floor(
        defaultVars().MEMORY_CACHE_MAX_BYTES / cost('groups:v2:0:asc:1000:group_999', big),
      ),
    )
    for (let i = 0; i < 2_000; i++) pages.set(`groups:v2:0:asc:5:group_${i}`, page(`p${i}`), limits)
    expect(pages.size.entries).toBe(defaultVars().MEMORY_CACHE_MAX_ENTRIES)
    expect(pages.size.bytes).toBeLessThanOrEqual(defaultVars().MEMORY_CACHE_MAX_BYTES)
    console.info(`then after 2,000 small pages: ${JSON.stringify(pages.size)}`)
  })

  it('never replaces a page with an older one', () => {
    const pages = new MemoryPages()
    const limits = { maxEntries: 10, maxBytes: 1_000 }
    pages.set('a', page('new', 2), limits)
    pages.set('a', page('old', 1), limits)
    expect(text(pages.get('a'))).toBe('new')
  })

  it('holds nothing with zero entries allowed', () => {
    const pages = new MemoryPages()
    pages.set('a', page('A'), { maxEntries: 0, maxBytes: 100 })
    expect(pages.size.entries).toBe(0)
  })
})
