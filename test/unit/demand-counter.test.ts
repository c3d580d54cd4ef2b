import { afterEach, describe, expect, it, vi } from 'vitest'
import { type Demand, DemandCounter, MAX_TRACKED } from '../../src/prewarm/demand'

const MINUTE = 60_000
const page = (n: number) => ({ after: `g_${n}`, limit: 100, order: 'asc' as const })

afterEach(() => {
  vi.useRealTimers()
})

describe('an isolate’s demand counter', () => {
  it('stays within MAX_TRACKED pages, and a partner asking for thousands leaves the others room', () => {
    // Trailing sends are armed on timers this test never runs.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const counter = new DemandCounter()
    const batches: Demand[][] = []
    const send = async (batch: Demand[]) => {
      batches.push(batch)
    }
    counter.count(page(0), 'g1', 'flood', 0, MINUTE, send)
    for (let n = 1; n < 3 * MAX_TRACKED; n++) counter.count(page(n), 'g1', 'flood', 1, MINUTE, send)
    for (let n = 0; n < 10; n++) counter.count(page(n), 'g1', 'alpha', 2, MINUTE, send)
    counter.count(page(0), 'g1', 'alpha', MINUTE + 1, MINUTE, send)

    const batch = batches[1] ?? []
    expect(batch).toHaveLength(MAX_TRACKED)
    const alpha = batch.filter((d) => d.partner === 'alpha')
    expect(alpha.map((d) => d.count)).toEqual([2, 1, 1, 1, 1, 1, 1, 1, 1, 1])
  })
})
