import { describe, expect, it } from 'vitest'
import { seedGroups } from '../../simulator/data'
import { UpstreamSimulator } from '../../simulator/upstream'

const sim = () => new UpstreamSimulator({ groups: 50, adminKey: 'k' })
const get = (s: UpstreamSimulator, query: string, key = 'k') =>
  s.fetch(
    new Request(`http://sim/v1/organization/groups${query}`, {
      headers: { Authorization: `Bearer ${key}` },
    }),
  )

describe('the upstream simulator', () => {
  it('seeds the same data for the same seed, with the variety the upstream shows', () => {
    const groups = seedGroups(3000)
    expect(seedGroups(3000)).toEqual(groups)
    expect(new Set(groups.map((g) => g.id)).size).toBe(3000)
    expect(new Set(groups.map((g) => g.group_type))).toEqual(new Set(['group', 'tenant_group']))
    expect(new Set(groups.map((g) => g.is_scim_managed))).toEqual(new Set([true, false]))
    expect(groups.some((g) => /[^\x20-\x7e]/.test(g.name))).toBe(true)
    for (let i = 1; i < groups.length; i++) {
      const [a, b] = [groups[i - 1], groups[i]] as [(typeof groups)[0], (typeof groups)[0]]
      expect(a.created_at < b.created_at || (a.created_at === b.created_at && a.id < b.id)).toBe(
        true,
      )
    }
  })

  it('pages with after = the previous page\u2019s next, null on the last page', async () => {
    const s = sim()
    const seen: string[] = []
    let after = ''
    for (;;) {
      const page = (await (await get(s, `?limit=20${after}`)).json()) as {
        data: { id: string }[]
        has_more: boolean
        next: string | null
      }
      seen.push(...page.data.map((g) => g.id))
      if (!page.has_more) {
        expect(page.next).toBeNull()
        break
      }
      expect(page.next).toBe(page.data.at(-1)?.id)
      after = `&after=${page.next}`
    }
    expect(seen).toEqual(s.groups.map((g) => g.id))
  })

  it('answers the upstream\u2019s errors', async () => {
    const s = sim()
    expect((await get(s, '?limit=1001')).status).toBe(400)
    expect((await get(s, '?order=up')).status).toBe(400)
    expect((await get(s, '?after=group_nope')).status).toBe(404)
    const denied = await get(s, '', 'sk-admin-wrong-key-1234')
    expect(denied.status).toBe(401)
    // As the upstream does, the 401 quotes the key's start and its last four characters.
    expect(await denied.text()).toContain('sk-admin********1234')
  })

  it('applies a fault a set number of times', async () => {
    const s = sim()
    s.setFault({ kind: 'status', status: 503, count: 2 })
    expect((await get(s, '')).status).toBe(503)
    expect((await get(s, '')).status).toBe(503)
    expect((await get(s, '')).status).toBe(200)
  })

  it('holds list answers at a gate until the test opens it, and stops holding one its caller gives up on', async () => {
    const s = sim()
    const gate = s.hold()
    let answered = 0
    const held = [get(s, '?limit=1'), get(s, '?limit=2')].map((p) =>
      p.then((res) => {
        answered++
        return res
      }),
    )
    const abort = new AbortController()
    const abandoned = s
      .fetch(
        new Request('http://sim/v1/organization/groups', {
          headers: { Authorization: 'Bearer k' },
          signal: abort.signal,
        }),
      )
      .catch((err: unknown) => err)
    await gate.reached(3)
    expect({ waiting: gate.waiting, answered }).toEqual({ waiting: 3, answered: 0 })
    abort.abort(new Error('the caller gave up'))
    expect(await abandoned).toMatchObject({ message: 'the caller gave up' })
    expect(gate.waiting).toBe(2)
    gate.open()
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200])
    expect(gate.waiting).toBe(0)
    // Once open, later answers pass at once.
    expect((await get(s, '')).status).toBe(200)
  })

  it('switches faults over its control routes', async () => {
    const s = sim()
    await s.fetch(
      new Request('http://sim/__sim/fault', {
        method: 'POST',
        body: JSON.stringify({ kind: 'rate_limit', retryAfter: '3' }),
      }),
    )
    const limited = await get(s, '')
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('3')
    await s.fetch(new Request('http://sim/__sim/fault', { method: 'DELETE' }))
    expect((await get(s, '')).status).toBe(200)
  })
})
