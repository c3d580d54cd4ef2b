import { describe, expect, it } from 'vitest'
import { TIERS } from '../../src/partners/tiers'
import wranglerToml from '../../wrangler.toml?raw'

describe('rate-limit tiers', () => {
  it('mirror the rate limiting bindings in wrangler.toml exactly', () => {
    const blocks = wranglerToml.split('[[ratelimits]]').slice(1)
    const declared = blocks.map((block) => ({
      binding: /name\s*=\s*"([^"]+)"/.exec(block)?.[1],
      limit: Number(/limit\s*=\s*(\d+)/.exec(block)?.[1]),
      periodSeconds: Number(/period\s*=\s*(\d+)/.exec(block)?.[1]),
    }))
    // Each binding permit is a lease of `lease` requests.
    const mirrored = Object.values(TIERS).map(({ binding, limit, periodSeconds, lease }) => ({
      binding,
      limit: limit / lease,
      periodSeconds,
    }))
    expect(declared.sort((a, b) => String(a.binding).localeCompare(String(b.binding)))).toEqual(
      mirrored.sort((a, b) => a.binding.localeCompare(b.binding)),
    )
  })
})
