import type { UpstreamTrace } from '../upstream/client'
import { type DemandCounter, popularPages } from './demand'
import type { CacheGeneration } from './generation'
import type { MemoryPages } from './memory'
import type { PageDeps, PageSettings } from './service'
import { pageFetcherSource } from './source'

/** What the page service keeps between requests: one per isolate in production. */
export interface PageState {
  memory: MemoryPages
  generation: CacheGeneration
  /** Background refreshes under way, by cache key. */
  refreshing: Map<string, number>
  /** Request counts per partner and page, sent in batches to the pre-warm cron's `PopularPages`. */
  demand: DemandCounter
  /** The clock freshness is measured on, in epoch milliseconds: injectable for tests. */
  now: () => number
}

/** The page service's dependencies for one request or one cron run: the same for both. */
export function pageDeps(
  env: Pick<Env, 'GROUPS_CACHE' | 'PAGE_FETCHER' | 'POPULAR_PAGES' | 'OPENAI_ADMIN_KEY'>,
  state: PageState,
  settings: PageSettings,
  run: {
    waitUntil(promise: Promise<unknown>): void
    requestId: string
    onUpstreamCall?: (trace: UpstreamTrace) => void
    /** The partner asking (its name), so pre-warm shares its budget between partners. */
    partner?: string
  },
): PageDeps {
  return {
    settings,
    kv: env.GROUPS_CACHE,
    memory: state.memory,
    generation: state.generation,
    refreshing: state.refreshing,
    demand: state.demand,
    demandSink: { record: (batch, at) => popularPages(env).record(batch, at) },
    source: pageFetcherSource(env),
    waitUntil: run.waitUntil,
    requestId: run.requestId,
    partner: run.partner ?? '',
    onUpstreamCall: run.onUpstreamCall ?? (() => {}),
  }
}
