import type { PageQuery } from '../upstream/query'

/** One page's demand: how many requests asked for it, decayed over time. */
export interface Demand {
  query: PageQuery
  /** The cache generation the requests were made in: a purge starts a new one. */
  generation: string
  count: number
}

/** Pages tracked at most, by an isolate and by `PopularPages`; the least asked-for go first. */
export const MAX_TRACKED = 1_000

/** A page's identity across generations. */
export function pageId(q: PageQuery): string {
  return `${q.order}:${q.limit}:${q.after ?? ''}`
}

/** Where an isolate sends its counts: the `PopularPages` Durable Object, in production. */
export interface DemandSink {
  record(demand: Demand[], now: number): Promise<void>
}

/** The name of the one `PopularPages` object. */
export const POPULAR_PAGES_NAME = 'popular'

/** The `PopularPages` object as a sink and as the cron's source. */
export function popularPages(env: Pick<Env, 'POPULAR_PAGES'>) {
  return env.POPULAR_PAGES.get(env.POPULAR_PAGES.idFromName(POPULAR_PAGES_NAME))
}

/**
 * An isolate's own counts, sent to `PopularPages` at most once per `flushMs`: a page request costs
 * a Map update, and the isolate one call a minute.
 */
export class DemandCounter {
  private counts = new Map<string, Demand>()
  private lastFlush = 0

  note(query: PageQuery, generation: string): void {
    const id = `${generation}|${pageId(query)}`
    const current = this.counts.get(id)
    if (current) current.count++
    else if (this.counts.size < MAX_TRACKED) this.counts.set(id, { query, generation, count: 1 })
  }

  /** The counts to send, if it is time (and there are any); they are then forgotten here. */
  drain(now: number, flushMs: number): Demand[] | null {
    if (this.counts.size === 0 || now - this.lastFlush < flushMs) return null
    this.lastFlush = now
    const batch = [...this.counts.values()]
    this.counts = new Map()
    return batch
  }
}
