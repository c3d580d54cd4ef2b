import { describe, expect, it } from 'vitest'
import { MemoryPages } from '../../src/pages/memory'

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
    expect(text(pages.get('a'))).toBe('Équipe 🚀')
  })

  it('never replaces a page with an older one', () => {
    const pages = new MemoryPages()
    const limits = { maxEntries: 10, maxBytes: 100 }
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
