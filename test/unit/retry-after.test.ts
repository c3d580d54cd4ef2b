import { describe, expect, it } from 'vitest'
import { retryAfterSeconds } from '../../src/upstream/client'

const h = (init: Record<string, string>) => new Headers(init)

describe('retryAfterSeconds', () => {
  const now = Date.parse('2026-11-26T12:00:00Z')
  it.each([
    [{ 'retry-after-ms': '1500' }, 2],
    [{ 'retry-after-ms': '1500', 'retry-after': '9' }, 2],
    [{ 'retry-after': '9' }, 9],
    [{ 'retry-after': 'Thu, 26 Nov 2026 12:00:20 GMT' }, 20],
    [{ 'retry-after': 'Thu, 26 Nov 2026 11:00:00 GMT' }, 1],
    [{ 'retry-after': 'soon' }, 1],
    [{ 'retry-after': '999999' }, 3600],
    [{}, 1],
  ])('%j -> %i s', (headers, expected) => {
    expect(retryAfterSeconds(h(headers), now)).toBe(expected)
  })
})
