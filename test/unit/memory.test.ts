import { describe, expect, it } from 'vitest'
import { MemoryPages } from '../../src/pages/memory'

const page = (text: string, storedAt = 1) => ({ text, storedAt, etag: `"${text}"` })

describe('the memory tier', () => {
  it('evicts the least recently used page past its entry bound', () => {
    const pages = new MemoryPages()
    const limits = { maxEntries: 2, maxBytes: 1_000 }
    pages.set('a', page('A'), limits)
    pages.set('b', page('B'), limits)
    pages.get('a')
    pages.set('c', page('C'), limits)
    expect(pages.get('b')).toBeUndefined()
    expect(pages.get('a')?.text).toBe('A')
    expect(pages.get('c')?.text).toBe('C')
  })

  it('keeps its bytes under the byte bound, and never holds a page larger than it', () => {
    const pages = new MemoryPages()
    const limits = { maxEntries: 100, maxBytes: 10 }
    pages.set('a', page('aaaa'), limits)
    pages.set('b', page('bbbb'), limits)
    pages.set('c', page('cccc'), limits)
    expect(pages.size).toEqual({ entries: 2, bytes: 8 })
    pages.set('big', page('x'.repeat(11)), limits)
    expect(pages.get('big')).toBeUndefined()
  })

  it('counts bytes as UTF-8, as they are served', () => {
    const pages = new MemoryPages()
    pages.set('a', page('Équipe 🚀'), { maxEntries: 10, maxBytes: 100 })
    expect(pages.size.bytes).toBe(new TextEncoder().encode('Équipe 🚀').byteLength)
    expect(new TextDecoder().decode(pages.get('a')?.body)).toBe('Équipe 🚀')
  })

  it('never replaces a page with an older one', () => {
    const pages = new MemoryPages()
    const limits = { maxEntries: 10, maxBytes: 100 }
    pages.set('a', page('new', 2), limits)
    pages.set('a', page('old', 1), limits)
    expect(pages.get('a')?.text).toBe('new')
  })

  it('holds nothing with zero entries allowed', () => {
    const pages = new MemoryPages()
    pages.set('a', page('A'), { maxEntries: 0, maxBytes: 100 })
    expect(pages.size.entries).toBe(0)
  })
})
