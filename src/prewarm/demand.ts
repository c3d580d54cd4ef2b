import { pageId } from '../pages/page'
import type { PageQuery } from '../upstream/schemas'

/**
 * How many requests one partner made for one page of a cache generation (a purge starts a new
 * one). The partner is '' when not known (an isolate of an older version).
 */
export type Demand = { query: PageQuery; generation: string; partner: string; count: number }

/** Pages tracked at most, per isolate and by `PopularPages`, all partners together. */
export const MAX_TRACKED = 1_000
/** `waitUntil` work is cancelled 30 s after the response: 20 s leaves 10 s for the send itself. */
const TRAILING_SEND_MAX_MS = 20_000
/** Steady traffic hands the trailing send on after this long, so it never fires early. */
const HANDOFF_MS = 5_000

/** The one `PopularPages` object: where isolates send their counts, and the cron reads them. */
export function popularPages(env: Pick<Env, 'POPULAR_PAGES'>) {
  return env.POPULAR_PAGES.get(env.POPULAR_PAGES.idFromName('popular'))
}

/**
 * An isolate's counts, sent to `PopularPages` at most once per `flushMs` while requests come.
 * Counts left when they stop go in a trailing send, held in a request's `waitUntil`, at most
 * `TRAILING_SEND_MAX_MS` after it and never after the next flush.
 */
export class DemandCounter {
  private counts = new Map<string, Demand>()
  /** How many pages each partner holds in `counts`. */
  private held = new Map<string, number>()
  private lastFlush = Number.NEGATIVE_INFINITY
  /** The armed trailing send; one a later request replaced does nothing. */
  private trailing: { armedAt: number } | null = null

  /** Counts a request; returns the send due (now or trailing), or null. `send` must not reject. */
  count(
    query: PageQuery,
    generation: string,
    partner: string,
    now: number,
    flushMs: number,
    send: (batch: Demand[], at: number) => Promise<void>,
  ): Promise<void> | null {
    this.note(query, generation, partner)
    if (now - this.lastFlush >= flushMs) {
      this.trailing = null
      return send(this.take(now), now)
    }
    if (this.trailing && now - this.trailing.armedAt < HANDOFF_MS) return null
    const fireAt = Math.min(this.lastFlush + flushMs, now + TRAILING_SEND_MAX_MS)
    const trailing = { armedAt: now }
    this.trailing = trailing
    return new Promise<void>((resolve) => {
      // Never cleared from a later request: a timer belongs to the request that set it.
      setTimeout(() => {
        if (this.trailing !== trailing) return resolve()
        this.trailing = null
        resolve(this.counts.size > 0 ? send(this.take(fireAt), fireAt) : undefined)
      }, fireAt - now)
    })
  }

  private note(query: PageQuery, generation: string, partner: string): void {
    const id = `${generation}|${partner}|${pageId(query)}`
    const current = this.counts.get(id)
    if (current) current.count++
    else if (this.counts.size < MAX_TRACKED || this.makeRoomFor(partner)) {
      this.counts.set(id, { query, generation, partner, count: 1 })
      this.held.set(partner, (this.held.get(partner) ?? 0) + 1)
    }
  }

  /** Full: the partner holding the most pages, if more than `partner`, gives up its oldest. */
  private makeRoomFor(partner: string): boolean {
    let most = partner
    for (const [p, n] of this.held) if (n > (this.held.get(most) ?? 0)) most = p
    if (most === partner) return false
    for (const [id, d] of this.counts) {
      if (d.partner !== most) continue
      this.counts.delete(id)
      this.held.set(most, (this.held.get(most) ?? 1) - 1)
      return true
    }
    return false
  }

  private take(now: number): Demand[] {
    const batch = [...this.counts.values()]
    this.lastFlush = now
    this.counts = new Map()
    this.held = new Map()
    return batch
  }
}
