import { log } from '../log'
import type { PageDeps } from '../pages/deps'
import { servedForSeconds } from '../pages/freshness'
import { cacheKey } from '../pages/page'
import { fetchRequest } from '../pages/service'
import { keep, readPage } from '../pages/store'
import { isQueryRefusal } from '../upstream/client'
import type { PageQuery } from '../upstream/schemas'
import { popularPages } from './demand'
import { type PagesState, pageDeps } from './page-deps'

/** The cron's period (wrangler.toml `[triggers]`). */
const PREWARM_PERIOD_MS = 60_000
/** Candidates per page the cron may refresh: most are still warm. */
const CANDIDATES_PER_CALL = 4

/**
 * One pre-warm run: refreshes the most asked-for pages (partners taking turns), at most
 * `PREWARM_MAX_PAGES` upstream calls (0: off), one attempt each. A page the upstream refuses is
 * dropped from the ranking; the run stops at the upstream's first failure (5xx, 429, timeout).
 */
export async function runPrewarm(env: Env, state: PagesState, waitUntil: PageDeps['waitUntil']) {
  const now = state.now()
  const requestId = `prewarm-${now}`
  const deps = pageDeps(env, state, { waitUntil, requestId })
  const { maxPages } = deps.settings.prewarm
  if (maxPages === 0) {
    log('info', 'prewarm', { requestId, skipped: 'off (PREWARM_MAX_PAGES is 0)' })
    return null
  }
  const generation = await state.generation.current(env.GROUPS_CACHE, now)
  if (generation === null) {
    log('warn', 'prewarm', { requestId, skipped: 'the cache generation cannot be read' })
    return null
  }
  const demand = popularPages(env)
  const candidates = await demand.top(maxPages * CANDIDATES_PER_CALL, generation, now)
  // What the run did, for its log line and its data point.
  const report = {
    refreshed: 0,
    skipped: { 'fresh-enough': 0, budget: 0, stopped: 0, refused: 0 },
    stopped: null as string | null,
    upstreamCalls: 0,
    candidates: candidates.length,
  }
  for (const query of candidates) {
    const skip = report.stopped ? 'stopped' : report.upstreamCalls >= maxPages ? 'budget' : null
    if (skip) {
      report.skipped[skip]++
      continue
    }
    const key = cacheKey(generation, query)
    const { done, status, upstreamCalls } = await refreshAhead(deps, query, key)
    report.upstreamCalls += upstreamCalls
    if (done === 'refreshed') report.refreshed++
    else if (done === 'failed') report.stopped = `upstream answered ${status}`
    else report.skipped[done]++
    if (done === 'refused') {
      // Not recorded: the next run tries the page once more.
      await demand.refuse(query, state.now()).catch((err: unknown) => {
        log('warn', 'prewarm_refusal_not_recorded', { requestId, error: String(err) })
      })
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
    // Best effort: the log line has the run.
  }
  return report
}

/**
 * Refreshes a page that would leave stale-while-revalidate within two cron periods, through the
 * same source as a request (one upstream call however many ask, one attempt), marked pre-warmed.
 * `refused`: the upstream refused the query itself (400, 404, 422); `failed`: it failed.
 */
async function refreshAhead(deps: PageDeps, query: PageQuery, key: string) {
  // Each page stamped when it is fetched, not when the run began.
  const now = deps.state.now()
  const cached = await readPage(deps.kv, key, deps.requestId)
  const servedMs = (cached?.storedAt ?? 0) + servedForSeconds(deps.settings.freshness) * 1000 - now
  if (servedMs > 2 * PREWARM_PERIOD_MS) return { done: 'fresh-enough', upstreamCalls: 0 } as const
  const result = await deps.source.fetchPage(key, {
    ...fetchRequest(deps, query, now, true),
    seenStoredAt: cached?.storedAt ?? null,
    fresh: false,
    prewarm: true,
  })
  const upstreamCalls = result.trace?.attempts ?? 0
  if (!result.ok) {
    const { status } = result.error
    const done = isQueryRefusal(status) ? 'refused' : 'failed'
    return { done, status, upstreamCalls } as const
  }
  await keep(deps, key, result.page, result.leader)
  return { done: 'refreshed' as const, upstreamCalls }
}
