import type { Config } from '../config'
import { log } from '../log'
import type { PageDeps, PageState } from '../pages/deps'
import { pageFetcherSource } from '../pages/source'
import { type Demand, type DemandCounter, popularPages } from './demand'

/** The page state of an isolate, with its demand counts for pre-warm. */
export type PagesState = PageState & { demand: DemandCounter }

/**
 * The page service's dependencies, the same for a request and a cron run. `run.partner` is the
 * partner asking (none for the cron): pre-warm shares its budget between partners.
 */
export function pageDeps(
  env: Pick<Env, 'GROUPS_CACHE' | 'PAGE_FETCHER' | 'POPULAR_PAGES' | 'OPENAI_ADMIN_KEY'>,
  state: PagesState,
  config: Config,
  run: Pick<PageDeps, 'waitUntil' | 'requestId'> &
    Partial<Pick<PageDeps, 'report'>> & { partner?: string },
): PageDeps {
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
