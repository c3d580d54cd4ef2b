import { DurableObject } from 'cloudflare:workers'
import { setLogVersion } from '../log'
import { pageId } from '../pages/page'
import type { PageQuery } from '../upstream/schemas'
import { type Demand, MAX_TRACKED } from './demand'

/** How fast old demand fades: a request an hour ago counts half as much as one now. */
export const DEMAND_HALF_LIFE_MS = 60 * 60 * 1000
/** Pages the upstream refused, remembered at most; the longest-known go first. */
const MAX_REFUSED = 1_000

type Score = Omit<Demand, 'count'> & { score: number; updatedAt: number }

/**
 * The pages each partner asked for recently and most, for the cron; isolates send counts in
 * batches. Fair by partner: the cron gets partners' pages in turn, and past `MAX_TRACKED` the
 * partner holding the most gives way. A few hundred KB stored at most: `MAX_TRACKED` scores (names
 * of at most 63 characters, cursors of at most 128) and `MAX_REFUSED` page ids.
 */
export class PopularPages extends DurableObject<Env> {
  private scores = new Map<string, Score>()
  /** Page ids the upstream refused, and when: never ranked again. */
  private refused = new Map<string, number>()

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    setLogVersion(env.VERSION?.id ?? null, true)
    // No call is delivered before this completes.
    ctx.blockConcurrencyWhile(async () => {
      // Before demand was per partner: [page id, score] pairs without one, for which '' stands.
      for (const entry of (await ctx.storage.get<(Score | [string, Score])[]>('scores')) ?? []) {
        const s = Array.isArray(entry) ? entry[1] : entry
        this.scores.set(scoreKey(s.partner ?? '', s.query), { ...s, partner: s.partner ?? '' })
      }
      this.refused = new Map((await ctx.storage.get<[string, number][]>('refused')) ?? [])
    })
  }

  async record(demand: Demand[], now: number): Promise<void> {
    for (const { query, generation, partner = '', count } of demand) {
      if (this.refused.has(pageId(query))) continue
      const id = scoreKey(partner, query)
      const current = this.scores.get(id)
      const score = current?.generation === generation ? decayed(current, now) + count : count
      this.scores.set(id, { partner, query, generation, score, updatedAt: now })
    }
    if (this.scores.size > MAX_TRACKED) this.scores = fairShare(this.scores, now)
    await this.ctx.storage.put('scores', [...this.scores.values()])
  }

  /**
   * Up to `n` pages of `generation` (others are dropped), partners taking turns, each its most
   * asked-for first; partners with more demand first in each round.
   */
  async top(n: number, generation: string, now: number): Promise<PageQuery[]> {
    const before = this.scores.size
    for (const [id, s] of this.scores) if (s.generation !== generation) this.scores.delete(id)
    if (this.scores.size < before) await this.ctx.storage.put('scores', [...this.scores.values()])
    const total = (pages: Score[]) => pages.reduce((sum, s) => sum + decayed(s, now), 0)
    const turns = byPartner(this.scores.values(), now).sort((a, b) => total(b) - total(a))
    const picked = new Map<string, PageQuery>()
    for (let size = -1; size < picked.size && picked.size < n; ) {
      size = picked.size
      for (const pages of turns) {
        // A page two partners asked for is taken once: the later turn goes to its next page.
        const next = pages.find((s) => !picked.has(pageId(s.query)))
        if (next && picked.size < n) picked.set(pageId(next.query), next.query)
      }
    }
    return [...picked.values()]
  }

  /** The upstream refused this page (400, 404, 422): forget its demand and never rank it again. */
  async refuse(query: PageQuery, now: number): Promise<void> {
    const id = pageId(query)
    for (const [key, s] of this.scores) if (pageId(s.query) === id) this.scores.delete(key)
    this.refused.delete(id)
    this.refused.set(id, now)
    const [oldest = ''] = this.refused.keys()
    if (this.refused.size > MAX_REFUSED) this.refused.delete(oldest)
    await this.ctx.storage.put({ scores: [...this.scores.values()], refused: [...this.refused] })
  }
}

function scoreKey(partner: string, query: PageQuery): string {
  return `${partner}|${pageId(query)}`
}

function decayed(s: Score, now: number): number {
  return s.score * 2 ** (-(now - s.updatedAt) / DEMAND_HALF_LIFE_MS)
}

/** Each partner's pages, most asked-for first. */
function byPartner(scores: Iterable<Score>, now: number): Score[][] {
  const groups = [...Map.groupBy(scores, (s) => s.partner).values()]
  return groups.map((list) => list.sort((a, b) => decayed(b, now) - decayed(a, now)))
}

/**
 * At most `MAX_TRACKED` scores, shared max-min fairly: a partner with fewer pages than an equal
 * share keeps them all, the rest is split evenly among the others, each keeping its most asked-for.
 */
function fairShare(scores: Map<string, Score>, now: number): Map<string, Score> {
  const lists = byPartner(scores.values(), now).sort((a, b) => a.length - b.length)
  const kept = new Map<string, Score>()
  let left = MAX_TRACKED
  lists.forEach((list, i) => {
    const take = Math.min(list.length, Math.floor(left / (lists.length - i)))
    left -= take
    for (const s of list.slice(0, take)) kept.set(scoreKey(s.partner, s.query), s)
  })
  return kept
}
