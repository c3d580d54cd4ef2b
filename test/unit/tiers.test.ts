import { describe, expect, it } from 'vitest'
import { AUTH_FAILURES, TIERS } from '../../src/partners/model'
import wranglerToml from '../../wrangler.toml?raw'

describe('rate-limit tiers', () => {
  it('mirror the rate limiting bindings in wrangler.toml exactly', () => {
    const blocks = wranglerToml.split('[[ratelimits]]').slice(1)
    const declared = blocks.map((block) => ({
      binding: /name\s*=\s*"([^"]+)"/.exec(block)?.[1],
      limit: Number(/limit\s*=\s*(\d+)/.exec(block)?.[1]),
      periodSeconds: Number(/period\s*=\s*(\d+)/.exec(block)?.[1]),
    }))
    const mirrored = [...Object.values(TIERS), AUTH_FAILURES].map(
      ({ binding, limit, periodSeconds }) => ({ binding, limit, periodSeconds }),
    )
    expect(declared.sort((a, b) => String(a.binding).localeCompare(String(b.binding)))).toEqual(
      mirrored.sort((a, b) => a.binding.localeCompare(b.binding)),
    )
  })
})
