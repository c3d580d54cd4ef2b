import { describe, expect, it } from 'vitest'
import { relayedRetryHint, retryAfterMs } from '../../src/upstream/client'

const h = (init: Record<string, string>) => new Headers(init)
const now = Date.parse('2026-11-26T12:00:00Z')

describe('relayedRetryHint', () => {
  it.each([
    [{ 'retry-after-ms': '1500' }, 2, 1500],
    [{ 'retry-after-ms': '1500', 'retry-after': '9' }, 2, 1500],
    [{ 'retry-after-ms': '2999.2' }, 3, 3000],
    [{ 'retry-after-ms': '250' }, 1, 250],
    [{ 'retry-after-ms': '0' }, 1, 0],
    [{ 'retry-after-ms': '99999999000' }, 3600, 3_600_000],
    [{ 'retry-after-ms': 'soon', 'retry-after': '4' }, 4, null],
    [{ 'retry-after': '9' }, 9, null],
    [{ 'retry-after': '99999999' }, 3600, null],
    [{ 'retry-after': 'Thu, 26 Nov 2026 12:00:20 GMT' }, 20, null],
    [{ 'retry-after': 'Thu, 26 Nov 2026 11:00:00 GMT' }, 1, null],
    [{ 'retry-after': 'soon' }, 1, null],
    [{}, 1, null],
  ])('%j -> Retry-After %i, retry-after-ms %s', (headers, seconds, ms) => {
    const hint = relayedRetryHint(h(headers), now)
    expect(hint).toEqual({ seconds, ms })
    // One wait, said twice: the seconds are the milliseconds rounded up (at least 1).
    if (hint.ms !== null) expect(hint.seconds).toBe(Math.max(Math.ceil(hint.ms / 1000), 1))
  })
})

describe('retryAfterMs (the gateway waits on it before its own retry)', () => {
  it.each([
    [{ 'retry-after-ms': '20' }, 20],
    [{ 'retry-after': '0' }, 0],
    [{ 'retry-after': '120' }, 120_000],
    [{ 'retry-after': 'Thu, 26 Nov 2026 12:00:20 GMT' }, 20_000],
    [{ 'retry-after': 'Thu, 26 Nov 2026 11:00:00 GMT' }, null],
    [{ 'retry-after-ms': '-5' }, null],
    [{}, null],
  ])('%j -> %s', (headers, expected) => {
    expect(retryAfterMs(h(headers), now)).toBe(expected)
  })
})
