import { describe, expect, it } from 'vitest'
import { DEV_PARTNER_KEY, DEV_PARTNER_KEY_SECRET } from '../../scripts/dev-partner'
import {
  digestKey,
  generatePartnerKey,
  hasValidCheck,
  PARTNER_KEY_PATTERN,
  parseRecord,
} from '../../src/partners/keys'

const SECRET = 'a-secret-of-the-tests-at-least-32-characters'

describe('partner keys', () => {
  it('are random, prefixed, 32 bytes strong, and carry a check valid under their secret only', async () => {
    const keys = new Set(
      await Promise.all(Array.from({ length: 100 }, () => generatePartnerKey(SECRET))),
    )
    expect(keys.size).toBe(100)
    for (const key of keys) {
      expect(key).toMatch(PARTNER_KEY_PATTERN)
      const raw = atob(key.slice(4, 47).replace(/-/g, '+').replace(/_/g, '/'))
      expect(raw.length).toBe(32)
      expect(await hasValidCheck(key, SECRET)).toBe(true)
      expect(await hasValidCheck(key, `${SECRET}-other`)).toBe(false)
    }
  })

  it('with any character of the id or the check changed, fail the check', async () => {
    const key = await generatePartnerKey(SECRET)
    for (const at of [4, 20, 46, 48, 69]) {
      const flipped = `${key.slice(0, at)}${key[at] === 'A' ? 'B' : 'A'}${key.slice(at + 1)}`
      expect(await hasValidCheck(flipped, SECRET)).toBe(false)
    }
    expect(await hasValidCheck(key.slice(0, 47), SECRET)).toBe(false)
  })

  it('are stored as a hex SHA-256 digest', async () => {
    expect(await digestKey('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    )
  })

  it('include the development key npm start registers, valid under its development secret', async () => {
    expect(DEV_PARTNER_KEY).toMatch(PARTNER_KEY_PATTERN)
    expect(await hasValidCheck(DEV_PARTNER_KEY, DEV_PARTNER_KEY_SECRET)).toBe(true)
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
