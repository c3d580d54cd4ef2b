import { DurableObject } from 'cloudflare:workers'
import { setLogVersion } from '../log'
import type { PageQuery } from '../upstream/query'
import { type Demand, MAX_TRACKED, pageId } from './demand'

/** How fast old demand fades: a request an hour ago counts half as much as one now. */
export const DEMAND_HALF_LIFE_MS = 60 * 60 * 1000

interface Score {
  query: PageQuery
  generation: string
  score: number
  updatedAt: number
}

/**
 * The pages partners asked for recently and most, for the pre-warm cron. One instance
 * (`idFromName('popular')`); isolates send it their counts in batches (one call a minute per
 * isolate at most, never one per request). Scores decay with `DEMAND_HALF_LIFE_MS`; demand from
 * an older cache generation is dropped as soon as a newer one is seen, so a purge forgets it.
 */
export class PopularPages extends DurableObject<Env> {
  private scores = new Map<string, Score>()
  private loaded: Promise<void>

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    setLogVersion(env.VERSION?.id ?? null, true)
    this.loaded = ctx.blockConcurrencyWhile(async () => {
      this.scores = new Map((await ctx.storage.get<[string, Score][]>('scores')) ?? [])
    })
  }

  async record(demand: Demand[], now: number): Promise<void> {
    await this.loaded
    for (const d of demand) {
      const id = pageId(d.query)
      const current = this.scores.get(id)
      const score =
        current && current.generation === d.generation ? decayed(current, now) + d.count : d.count
      this.scores.set(id, { query: d.query, generation: d.generation, score, updatedAt: now })
    }
    if (this.scores.size > MAX_TRACKED) {
      const ranked = [...this.scores].sort((a, b) => decayed(b[1], now) - decayed(a[1], now))
      this.scores = new Map(ranked.slice(0, MAX_TRACKED))
    }
    await this.ctx.storage.put('scores', [...this.scores])
  }

  /** The `n` most asked-for pages of `generation`, most first; other generations are dropped. */
  async top(n: number, generation: string, now: number): Promise<PageQuery[]> {
    await this.loaded
    let dropped = false
    for (const [id, s] of this.scores) {
      if (s.generation !== generation) {
        this.scores.delete(id)
        dropped = true
      }
    }
    if (dropped) await this.ctx.storage.put('scores', [...this.scores])
    return [...this.scores.values()]
      .sort((a, b) => decayed(b, now) - decayed(a, now))
      .slice(0, n)
      .map((s) => s.query)
  }

  /** Forgets everything (a purge). */
  async reset(): Promise<void> {
    this.scores.clear()
    await this.ctx.storage.deleteAll()
  }
}

function decayed(s: Score, now: number): number {
  return s.score * 2 ** (-(now - s.updatedAt) / DEMAND_HALF_LIFE_MS)
}
