import { describe, expect, it } from 'vitest'
import { DEV_PARTNER_KEY } from '../../scripts/dev-partner'
import {
  digestKey,
  generatePartnerKey,
  PARTNER_KEY_PATTERN,
  parseRecord,
} from '../../src/partners/keys'

describe('partner keys', () => {
  it('are random, prefixed and 32 bytes strong', () => {
    const keys = new Set(Array.from({ length: 100 }, generatePartnerKey))
    expect(keys.size).toBe(100)
    for (const key of keys) {
      expect(key).toMatch(PARTNER_KEY_PATTERN)
      const raw = atob(key.slice(4).replace(/-/g, '+').replace(/_/g, '/'))
      expect(raw.length).toBe(32)
    }
  })

  it('are stored as a hex SHA-256 digest', async () => {
    expect(await digestKey('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    )
  })

  it('include the development key npm start registers', () => {
    expect(DEV_PARTNER_KEY).toMatch(PARTNER_KEY_PATTERN)
  })

  it('refuse malformed records', () => {
    expect(parseRecord(null)).toBeNull()
    expect(parseRecord({ name: 'a' })).toBeNull()
    expect(parseRecord({ name: 'a', createdAt: 'x', tier: 'platinum', disabled: 'yes' })).toEqual({
      name: 'a',
      createdAt: 'x',
    })
  })
})

describe('the suite', () => {
  it("gives the worker the test's admin key, whatever .dev.vars or the shell holds", async () => {
    const { env } = await import('cloudflare:workers')
    const { TEST_ADMIN_KEY } = await import('../constants')
    expect(env.OPENAI_ADMIN_KEY).toBe(TEST_ADMIN_KEY)
  })
})
