import { AppError } from '../errors'
import { errorText, log } from '../log'
import type { PageQuery } from '../upstream/query'
import { fetchRequest, type PageDeps } from './deps'
import type { CachedPage } from './page'
import { keep } from './store'

/**
 * The background half of stale-while-revalidate: one refresh per page at a time in this isolate
 * (the page's source would share one upstream call anyway, but each would still call it). A claim
 * older than the upstream budget was lost with its request, and lapses.
 */
export function refreshInBackground(
  deps: PageDeps,
  key: string,
  query: PageQuery,
  now: number,
  stale: CachedPage,
): void {
  const { refreshing } = deps.state
  const started = refreshing.get(key)
  if (started !== undefined && now - started < deps.settings.upstream.budgetMs) return
  refreshing.set(key, now)
  const done = () => {
    if (refreshing.get(key) === now) refreshing.delete(key)
  }
  deps.waitUntil(refresh(deps, key, query, now, stale).finally(done))
}

/** Nobody waits for it, so what stops it (a missing secret, say) is logged here. */
async function refresh(
  deps: PageDeps,
  key: string,
  query: PageQuery,
  now: number,
  stale: CachedPage,
): Promise<void> {
  try {
    const result = await deps.source.fetchPage(key, {
      ...fetchRequest(deps, query, now, true),
      seenStoredAt: stale.storedAt,
      fresh: false,
    })
    if (result.ok) await keep(deps, key, result.page, result.leader)
  } catch (err) {
    const error = err instanceof AppError ? (err.detail ?? err.message) : errorText(err)
    log('warn', 'background_refresh_failed', { requestId: deps.requestId, key, error })
  }
}
