import { describe, expect, it } from 'vitest'
import { ACCESS_CHANGE_BOUND_SECONDS, type PartnerStore, runPartners } from '../../scripts/partners'
import { digestKey, type PartnerRecord, storageKey } from '../../src/partners/keys'

/** The CLI's commands over an in-memory store: what they print and what they leave behind. */
function cli() {
  const records = new Map<string, PartnerRecord>()
  const store: PartnerStore = {
    list: () => [...records].map(([k, record]) => ({ storageKey: k, record })),
    put: (k, record) => void records.set(k, record),
    delete: (k) => void records.delete(k),
  }
  const run = async (...args: string[]) => {
    const lines: string[] = []
    await runPartners(args, store, (line) => lines.push(line))
    return lines
  }
  return { run, records }
}

const keyOf = (lines: string[]) => lines.at(-1) as string

describe('npm run partners', () => {
  it('rotates a key: a new one under the same name and tier, the old one gone', async () => {
    const { run, records } = cli()
    const old = keyOf(await run('create', 'acme', '--tier', 'elevated'))
    const created = [...records.values()][0]
    const lines = await run('rotate', 'acme')
    const fresh = keyOf(lines)
    expect(fresh).toMatch(/^gwp_/)
    expect(fresh).not.toBe(old)
    expect(records.has(storageKey(await digestKey(old)))).toBe(false)
    expect(records.get(storageKey(await digestKey(fresh)))).toEqual(created)
    expect(lines[0]).toMatch(new RegExp(`within ${ACCESS_CHANGE_BOUND_SECONDS} s`))
  })

  it('moves a partner to another tier, and refuses an unknown tier', async () => {
    const { run, records } = cli()
    await run('create', 'acme')
    const lines = await run('set-tier', 'acme', 'restricted')
    expect([...records.values()][0]?.tier).toBe('restricted')
    expect(lines[0]).toMatch(/now on tier restricted\. It reaches every location within 120 s/)
    await expect(run('set-tier', 'acme', 'platinum')).rejects.toThrow(
      /restricted, standard, elevated/,
    )
  })

  it('lists with a header row, and as JSON', async () => {
    const { run } = cli()
    await run('create', 'acme')
    await run('create', 'globex', '--tier', 'restricted', '--disabled')
    const table = await run('list')
    expect(table[0]).toMatch(/^NAME\s+CREATED\s+TIER\s+STATUS\s+KEY DIGEST$/)
    expect(
      table.slice(1).map((l) => l.split(/\s+/).slice(0, 1).concat(l.split(/\s+/).slice(2, 4))),
    ).toEqual([
      ['acme', 'standard', 'active'],
      ['globex', 'restricted', 'disabled'],
    ])
    const json = JSON.parse((await run('list', '--json')).join('\n')) as Record<string, string>[]
    expect(json.map((p) => [p.name, p.tier, p.status])).toEqual([
      ['acme', 'standard', 'active'],
      ['globex', 'restricted', 'disabled'],
    ])
    expect(json[0]?.digest).toMatch(/^[0-9a-f]{8}…$/)
  })

  it.each([
    ['create', ['create', 'initech']],
    ['revoke', ['revoke', 'acme']],
    ['disable', ['disable', 'acme']],
    ['enable', ['enable', 'acme']],
  ])('says when %s reaches every location', async (_, args) => {
    const { run } = cli()
    await run('create', 'acme')
    const lines = await run(...args)
    expect(lines[0]).toMatch(
      /reaches every location within 120 s \(isolate lookup cache 30 s \+ KV edge cache 30 s \+ KV propagation 60 s\)/,
    )
  })
})
