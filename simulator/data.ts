/** A group exactly as the upstream serializes it. */
export interface SimGroup {
  object: 'group'
  id: string
  name: string
  created_at: number
  is_scim_managed: boolean
  group_type: 'group' | 'tenant_group'
}

export const DEFAULT_GROUP_COUNT = 2500
export const DEFAULT_SEED = 20261126

const TEAMS = [
  'Support Team',
  'Équipe Support',
  'Ingeniería',
  'Zürich Operations',
  'Поддержка клиентов',
  'サポートチーム',
  '研发中心',
  'Δέλτα Research',
  'Øresund Sales',
  'Data Science',
  'Finance & Legal',
  'São Paulo Marketing',
  'İstanbul Ofisi',
  'फ़ील्ड ऑपरेशन',
  '🚀 Launch Crew',
  'Security',
]
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** mulberry32: tiny, fast and deterministic for a given seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * The organization's groups in the upstream's order (oldest first, then by id): deterministic for a
 * seed, with both group types, SCIM-managed and not, non-ASCII names and some equal timestamps.
 */
export function seedGroups(count = DEFAULT_GROUP_COUNT, seed = DEFAULT_SEED): SimGroup[] {
  const rand = prng(seed)
  const groups: SimGroup[] = []
  let createdAt = 1_700_000_000
  for (let i = 0; i < count; i++) {
    // About one group in ten shares its second with the one before, as batch imports do.
    if (rand() > 0.1) createdAt += 1 + Math.floor(rand() * 3600)
    let suffix = ''
    for (let j = 0; j < 20; j++) suffix += CROCKFORD[Math.floor(rand() * 32)]
    const team = TEAMS[Math.floor(rand() * TEAMS.length)]
    groups.push({
      object: 'group',
      id: `group_01${suffix}`,
      name: `${team} ${i + 1}`,
      created_at: createdAt,
      is_scim_managed: rand() < 0.4,
      group_type: rand() < 0.15 ? 'tenant_group' : 'group',
    })
  }
  return groups.sort(
    (a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  )
}
