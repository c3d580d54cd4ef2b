import { log } from '../log'
import { pageId } from '../pages/page'
import type { PageQuery } from '../upstream/query'

/** One partner's demand for one page: how many requests asked for it, decayed over time. */
export interface Demand {
  query: PageQuery
  /** The cache generation the requests were made in: a purge starts a new one. */
  generation: string
  /** The partner that asked; '' when not known (an isolate of an older version, say). */
  partner: string
  count: number
}

/**
 * Pages tracked at most, by an isolate and by `PopularPages`, all partners together; when full, the
 * partner holding the most gives way first.
 */
export const MAX_TRACKED = 1_000

/**
 * The longest a request holds a trailing send of its isolate's counts. Cloudflare gives `waitUntil`
 * work 30 s after the response ("The Worker's lifetime is extended for up to 30 seconds after the
 * response is sent or the client disconnects ... if any Promises have not settled after 30 seconds,
 * they are cancelled"): 20 s leaves 10 s for the call itself.
 */
const TRAILING_SEND_MAX_MS = 20_000
/** A request this long after the trailing send was armed carries it on, so steady traffic never sends early. */
const HANDOFF_MS = 5_000

/** The one `PopularPages` object: where isolates send their counts, and the cron reads them. */
export function popularPages(env: Pick<Env, 'POPULAR_PAGES'>) {
  return env.POPULAR_PAGES.get(env.POPULAR_PAGES.idFromName('popular'))
}

/** The send armed for a quiet spell; inert once a later request has armed its own. */
interface Trailing {
  armedAt: number
}

/**
 * An isolate's own counts, per partner and page, sent to `PopularPages` at most once per `flushMs`
 * while requests keep coming: a page request costs a Map update, and the isolate one call a minute.
 * Counts left over when requests stop are sent by a trailing send within `TRAILING_SEND_MAX_MS` of
 * the last request (never later than the next flush would have been), held in a request's
 * `waitUntil`; a request `HANDOFF_MS` or more after it was armed takes it over, so only a spell of
 * that much silence sends before the flush is due.
 */
export class DemandCounter {
  private counts = new Map<string, Demand>()
  /** How many pages each partner holds in `counts`. */
  private held = new Map<string, number>()
  private lastFlush = Number.NEGATIVE_INFINITY
  private trailing: Trailing | null = null

  /**
   * Counts a request, and returns the work that sends counts, for the request's `waitUntil`: the
   * send itself when the last one is `flushMs` old, a trailing send when one is needed, else null.
   * `send` must not reject.
   */
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
    const trailing: Trailing = { armedAt: now }
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
    if (current) {
      current.count++
      return
    }
    if (this.counts.size >= MAX_TRACKED && !this.makeRoomFor(partner)) return
    this.counts.set(id, { query, generation, partner, count: 1 })
    this.held.set(partner, (this.held.get(partner) ?? 0) + 1)
  }

  /** Full: the partner holding the most pages gives up its oldest, if it holds more than `partner`. */
  private makeRoomFor(partner: string): boolean {
    let most: string | null = null
    for (const [p, n] of this.held) if (most === null || n > (this.held.get(most) ?? 0)) most = p
    if (most === null || (this.held.get(most) ?? 0) <= (this.held.get(partner) ?? 0)) return false
    for (const [id, d] of this.counts) {
      if (d.partner !== most) continue
      this.counts.delete(id)
      this.held.set(most, (this.held.get(most) ?? 1) - 1)
      return true
    }
    return false
  }

  private take(now: number): Demand[] {
    this.lastFlush = now
    const batch = [...this.counts.values()]
    this.counts = new Map()
    this.held = new Map()
    return batch
  }
}
