import { DurableObject } from 'cloudflare:workers'
import { setLogVersion } from '../log'
import { pageId } from '../pages/page'
import type { PageQuery } from '../upstream/query'
import { type Demand, MAX_TRACKED } from './demand'

/** How fast old demand fades: a request an hour ago counts half as much as one now. */
export const DEMAND_HALF_LIFE_MS = 60 * 60 * 1000
/** Pages the upstream refused to answer, remembered at most; the longest-known go first. */
const MAX_REFUSED = 1_000

interface Score {
  partner: string
  query: PageQuery
  generation: string
  score: number
  updatedAt: number
}

/**
 * The pages partners asked for recently and most, per partner, for the pre-warm cron. One instance
 * (`idFromName('popular')`); isolates send it their counts in batches (one call a minute per
 * isolate at most, never one per request). Scores decay with `DEMAND_HALF_LIFE_MS`; demand from
 * an older cache generation is dropped as soon as a newer one is seen, so a purge forgets it.
 *
 * Fair by partner: the cron gets each partner's pages in turn (`top`), and past `MAX_TRACKED`
 * pages the partner holding the most gives way first, so no one partner's demand can take the
 * budget or the memory. A page the upstream refused (`refuse`) is dropped and never ranked again.
 * Bounded: `MAX_TRACKED` scores (each a partner name of at most 63 characters and a query with a
 * cursor of at most 128) and `MAX_REFUSED` page ids, a few hundred KB stored at most.
 */
export class PopularPages extends DurableObject<Env> {
  private scores = new Map<string, Score>()
  /** Page ids the upstream refused, and when: never ranked again. */
  private refused = new Map<string, number>()
  private loaded: Promise<void>

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    setLogVersion(env.VERSION?.id ?? null, true)
    this.loaded = ctx.blockConcurrencyWhile(async () => {
      // Stored as scores alone; before demand was kept per partner, as [page id, score] pairs
      // without a partner, for which '' stands.
      const stored = (await ctx.storage.get<(Score | [string, Score])[]>('scores')) ?? []
      for (const entry of stored) {
        const s = Array.isArray(entry) ? entry[1] : entry
        const score = { ...s, partner: s.partner ?? '' }
        this.scores.set(scoreKey(score.partner, score.query), score)
      }
      this.refused = new Map((await ctx.storage.get<[string, number][]>('refused')) ?? [])
    })
  }

  async record(demand: Demand[], now: number): Promise<void> {
    await this.loaded
    for (const d of demand) {
      if (this.refused.has(pageId(d.query))) continue
      const partner = d.partner ?? ''
      const id = scoreKey(partner, d.query)
      const current = this.scores.get(id)
      const score =
        current && current.generation === d.generation ? decayed(current, now) + d.count : d.count
      this.scores.set(id, {
        partner,
        query: d.query,
        generation: d.generation,
        score,
        updatedAt: now,
      })
    }
    if (this.scores.size > MAX_TRACKED) this.scores = fairShare(this.scores, MAX_TRACKED, now)
    await this.ctx.storage.put('scores', [...this.scores.values()])
  }

  /**
   * Up to `n` pages of `generation` for the cron, partners taking turns: each partner's most asked-for
   * page, then each one's next, and so on; partners with more demand take their turn first in each
   * round. Other generations are dropped.
   */
  async top(n: number, generation: string, now: number): Promise<PageQuery[]> {
    await this.loaded
    let dropped = false
    for (const [id, s] of this.scores) {
      if (s.generation !== generation) {
        this.scores.delete(id)
        dropped = true
      }
    }
    if (dropped) await this.ctx.storage.put('scores', [...this.scores.values()])
    const turns = byPartner(this.scores.values(), now)
      .map((pages) => ({ pages: pages.values(), total: total(pages, now) }))
      .sort((a, b) => b.total - a.total)
    const picked = new Map<string, PageQuery>()
    for (let more = true; more && picked.size < n; ) {
      more = false
      for (const turn of turns) {
        if (picked.size >= n) break
        // Each turn resumes the partner's list (an array iterator) where its last turn ended; a
        // page two partners asked for is taken once, the later turn going to its next page.
        for (const page of turn.pages) {
          const id = pageId(page.query)
          if (picked.has(id)) continue
          picked.set(id, page.query)
          more = true
          break
        }
      }
    }
    return [...picked.values()]
  }

  /** The upstream refused this page (400, 404, 422): forget its demand and never rank it again. */
  async refuse(query: PageQuery, now: number): Promise<void> {
    await this.loaded
    const id = pageId(query)
    for (const [key, s] of this.scores) if (pageId(s.query) === id) this.scores.delete(key)
    this.refused.delete(id)
    this.refused.set(id, now)
    for (const oldest of this.refused.keys()) {
      if (this.refused.size <= MAX_REFUSED) break
      this.refused.delete(oldest)
    }
    await this.ctx.storage.put({ scores: [...this.scores.values()], refused: [...this.refused] })
  }

  /** Forgets everything (a purge). */
  async reset(): Promise<void> {
    this.scores.clear()
    this.refused.clear()
    await this.ctx.storage.deleteAll()
  }
}

function scoreKey(partner: string, query: PageQuery): string {
  return `${partner}|${pageId(query)}`
}

function decayed(s: Score, now: number): number {
  return s.score * 2 ** (-(now - s.updatedAt) / DEMAND_HALF_LIFE_MS)
}

function total(pages: Score[], now: number): number {
  return pages.reduce((sum, s) => sum + decayed(s, now), 0)
}

/** Each partner's pages, most asked-for first. */
function byPartner(scores: Iterable<Score>, now: number): Score[][] {
  const groups = new Map<string, Score[]>()
  for (const s of scores) {
    const group = groups.get(s.partner)
    if (group) group.push(s)
    else groups.set(s.partner, [s])
  }
  const lists = [...groups.values()]
  for (const list of lists) list.sort((a, b) => decayed(b, now) - decayed(a, now))
  return lists
}

/**
 * At most `max` scores, shared max-min fairly: a partner with fewer pages than an equal share keeps
 * them all, and the rest is split evenly among the others, each keeping its most asked-for.
 */
function fairShare(scores: Map<string, Score>, max: number, now: number): Map<string, Score> {
  const lists = byPartner(scores.values(), now).sort((a, b) => a.length - b.length)
  const kept = new Map<string, Score>()
  let left = max
  lists.forEach((list, i) => {
    const take = Math.min(list.length, Math.floor(left / (lists.length - i)))
    left -= take
    for (const s of list.slice(0, take)) kept.set(scoreKey(s.partner, s.query), s)
  })
  return kept
}
