/** The List groups query's bounds and defaults, as the upstream documents them. */
export const LIMIT_MIN = 0
export const LIMIT_MAX = 1000
export const LIMIT_DEFAULT = 100
export const ORDER_DEFAULT = 'asc'
export const AFTER_PATTERN = /^[A-Za-z0-9_-]{1,128}$/

/** A List groups query with its defaults filled in, so equivalent requests share one page. */
export interface PageQuery {
  after: string | null
  limit: number
  order: 'asc' | 'desc'
}

/** The upstream query string: a fixed order, only known parameters. */
export function toSearchParams({ after, limit, order }: PageQuery): URLSearchParams {
  return new URLSearchParams({ ...(after !== null && { after }), limit: String(limit), order })
}
