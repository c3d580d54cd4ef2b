import { readConfig } from '../config'
import { log } from '../log'
import { fetchRequest, type PageDeps } from '../pages/deps'
import { servedForSeconds } from '../pages/freshness'
import { cacheKey } from '../pages/page'
import { keep, readPage } from '../pages/store'
import { isQueryRefusal } from '../upstream/client'
import type { PageQuery } from '../upstream/query'
import { popularPages } from './demand'
import { type PagesState, pageDeps } from './page-deps'

/** The cron's period (wrangler.toml `[triggers]`): a page is refreshed if it would go cold sooner. */
export const PREWARM_PERIOD_MS = 60_000
/** How many candidates the cron looks at per page it may refresh: most are still warm. */
const CANDIDATES_PER_CALL = 4

/** What one run did, for its log line and its data point. */
export interface PrewarmReport {
  refreshed: number
  /** `refused`: the upstream refused the query itself (400, 404, 422); never tried again. */
  skipped: { 'fresh-enough': number; budget: number; stopped: number; refused: number }
  stopped: string | null
  upstreamCalls: number
  candidates: number
}

/** Where the cron finds what partners asked for most: `PopularPages`, in production. */
export interface DemandSource {
  /** Up to `n` pages, partners taking turns, each partner's most asked-for first. */
  top(n: number, generation: string, now: number): Promise<PageQuery[]>
  /** Drops a page the upstream refused from the ranking, for good. */
  refuse(query: PageQuery, now: number): Promise<void>
}

/**
 * One pre-warm run: the most asked-for pages (partners taking turns) that would leave
 * stale-while-revalidate within two periods are refreshed through the page service, at most
 * `PREWARM_MAX_PAGES` upstream calls a run, one attempt each (never the upstream's retry budget).
 * A page whose query the upstream refuses (400, 404, 422) is skipped and dropped from the ranking;
 * the run stops at the first failure of the upstream itself (5xx, 429, timeout, network). Off when
 * `PREWARM_MAX_PAGES` is 0.
 */
export async function runPrewarm(
  env: Env,
  state: PagesState,
  waitUntil: (promise: Promise<unknown>) => void,
  demand: DemandSource = popularPages(env),
): Promise<PrewarmReport | null> {
  const now = state.now()
  const settings = readConfig(env)
  const { maxPages } = settings.prewarm
  const requestId = `prewarm-${now}`
  if (maxPages === 0) {
    log('info', 'prewarm', { requestId, skipped: 'off (PREWARM_MAX_PAGES is 0)' })
    return null
  }
  const deps = pageDeps(env, state, settings, { waitUntil, requestId })
  const generation = await state.generation.current(env.GROUPS_CACHE, now)
  if (generation === null) {
    log('warn', 'prewarm', { requestId, skipped: 'the cache generation cannot be read' })
    return null
  }
  const candidates = await demand.top(maxPages * CANDIDATES_PER_CALL, generation, now)
  const report: PrewarmReport = {
    refreshed: 0,
    skipped: { 'fresh-enough': 0, budget: 0, stopped: 0, refused: 0 },
    stopped: null,
    upstreamCalls: 0,
    candidates: candidates.length,
  }
  for (const query of candidates) {
    if (report.stopped) {
      report.skipped.stopped++
      continue
    }
    if (report.upstreamCalls >= maxPages) {
      report.skipped.budget++
      continue
    }
    // Each page stamped when it is fetched, not when the run began.
    const outcome = await refreshAhead(deps, query, generation, state.now())
    if (outcome.done === 'fresh-enough') report.skipped['fresh-enough']++
    else report.upstreamCalls += outcome.upstreamCalls
    if (outcome.done === 'refreshed') report.refreshed++
    if (outcome.done === 'failed') report.stopped = `upstream answered ${outcome.status}`
    if (outcome.done === 'refused') {
      report.skipped.refused++
      await forget(demand, query, state.now(), requestId)
    }
  }
  log(report.stopped ? 'warn' : 'info', 'prewarm', { requestId, ...report })
  try {
    env.USAGE?.writeDataPoint({
      indexes: ['(prewarm)'],
      blobs: ['(cron)', 'SCHEDULED', 'prewarm', '', env.VERSION?.id ?? ''],
      doubles: [report.stopped ? 502 : 200, 0, state.now() - now, report.upstreamCalls],
    })
  } catch {
    // Usage figures are best effort; the log line above has the run.
  }
  return report
}

/** Drops a refused page from the ranking; if that fails, the next run tries it once more. */
async function forget(demand: DemandSource, query: PageQuery, now: number, requestId: string) {
  try {
    await demand.refuse(query, now)
  } catch (err) {
    log('warn', 'prewarm_refusal_not_recorded', { requestId, error: String(err) })
  }
}

/** What pre-warming one page did: `refused` is the upstream's answer about the query itself. */
type AheadOutcome =
  | { done: 'refreshed'; upstreamCalls: number }
  | { done: 'fresh-enough' }
  | { done: 'refused' | 'failed'; status: number; upstreamCalls: number }

/**
 * Refreshes a page that would leave stale-while-revalidate within two cron periods: through the
 * same source as a request (one upstream call however many ask, one attempt), kept in KV marked
 * as pre-warmed.
 */
async function refreshAhead(
  deps: PageDeps,
  query: PageQuery,
  generation: string,
  now: number,
): Promise<AheadOutcome> {
  const key = cacheKey(generation, query)
  const cached = await readPage(deps.kv, key, deps.requestId)
  const servedUntil = (cached?.storedAt ?? 0) + servedForSeconds(deps.settings.freshness) * 1000
  if (servedUntil - now > 2 * PREWARM_PERIOD_MS) return { done: 'fresh-enough' }
  const result = await deps.source.fetchPage(key, {
    ...fetchRequest(deps, query, now, true),
    seenStoredAt: cached?.storedAt ?? null,
    fresh: false,
    prewarm: true,
  })
  const upstreamCalls = result.trace?.attempts ?? 0
  if (!result.ok) {
    const { status } = result.error
    return { done: isQueryRefusal(status) ? 'refused' : 'failed', status, upstreamCalls }
  }
  await keep(deps, key, result.page, result.leader)
  return { done: 'refreshed', upstreamCalls }
}
