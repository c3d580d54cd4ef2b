import { readConfig } from '../config'
import { log } from '../log'
import { type PageDeps, type PageState, pageFetcherSource } from '../pages/deps'
import { type Demand, type DemandCounter, popularPages } from './demand'

export type PagesState = PageState & { demand: DemandCounter }

type Run = Pick<PageDeps, 'waitUntil' | 'requestId'> & { report?: PageDeps['report'] }

/**
 * The page service's dependencies (settings from the vars), the same for a request and a cron run.
 * `run.partner` is the partner asking (none for the cron): pre-warm shares its budget between them.
 */
export function pageDeps(env: Env, state: PagesState, run: Run & { partner?: string }): PageDeps {
  const config = readConfig(env)
  const { waitUntil, requestId } = run
  const send = (batch: Demand[], at: number) =>
    popularPages(env)
      .record(batch, at)
      .catch((err) => log('warn', 'demand_not_recorded', { requestId, error: String(err) }))
  return {
    settings: config,
    kv: env.GROUPS_CACHE,
    state,
    source: pageFetcherSource(env),
    waitUntil,
    requestId,
    countDemand(query, generation, now) {
      const { flushMs } = config.prewarm
      const work = state.demand.count(query, generation, run.partner ?? '', now, flushMs, send)
      if (work) waitUntil(work)
    },
    report: run.report ?? (() => {}),
  }
}
