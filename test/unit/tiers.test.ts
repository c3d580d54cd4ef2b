import { describe, expect, it } from 'vitest'
import { AUTH_FAILURES, TIERS } from '../../src/partners/model'
import wranglerToml from '../../wrangler.toml?raw'

/** Every `[[ratelimits]]` block of the top level and of each environment, with its settings. */
function rateLimitBlocks() {
  return [...wranglerToml.matchAll(/\[\[(env\.(\w+)\.)?ratelimits\]\]([^[]*)/g)].map((m) => ({
    env: m[2] ?? '(top level)',
    binding: /name\s*=\s*"([^"]+)"/.exec(m[3] ?? '')?.[1],
    namespaceId: /namespace_id\s*=\s*"([^"]+)"/.exec(m[3] ?? '')?.[1],
    limit: Number(/limit\s*=\s*(\d+)/.exec(m[3] ?? '')?.[1]),
    periodSeconds: Number(/period\s*=\s*(\d+)/.exec(m[3] ?? '')?.[1]),
  }))
}

describe('rate-limit tiers', () => {
  const mirrored = [...Object.values(TIERS), AUTH_FAILURES]
    .map(({ binding, limit, periodSeconds }) => ({ binding, limit, periodSeconds }))
    .sort((a, b) => a.binding.localeCompare(b.binding))

  it('mirror the rate limiting bindings of wrangler.toml exactly, in every environment', () => {
    const blocks = rateLimitBlocks()
    const envs = [...new Set(blocks.map((b) => b.env))]
    expect(envs).toEqual(['(top level)', 'staging', 'production'])
    for (const env of envs) {
      const declared = blocks
        .filter((b) => b.env === env)
        .map(({ binding, limit, periodSeconds }) => ({ binding, limit, periodSeconds }))
        .sort((a, b) => String(a.binding).localeCompare(String(b.binding)))
      expect(declared, env).toEqual(mirrored)
    }
  })

  it('give every binding its own namespace id: the same id shares counters account-wide', () => {
    const ids = rateLimitBlocks().map((b) => b.namespaceId)
    expect(new Set(ids).size).toBe(ids.length)
  })
})
