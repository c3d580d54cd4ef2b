import type { RouteConfig, RouteHandler } from '@hono/zod-openapi'
import type { CacheGeneration } from './cache/generation'
import type { MemoryPages } from './cache/memory'
import type { NormalizedQuery } from './groups/schemas'
import type { PartnerDirectory } from './partners/auth'
import type { Partner, PartnerRateLimits } from './partners/rate-limit'

/** State an app instance (one per isolate in production) keeps between requests. */
export interface AppState {
  /** The current cache generation, re-read from KV every few seconds. */
  generation: CacheGeneration
  /** The per-isolate page tier in front of KV. */
  pages: MemoryPages
  /** Recent partner key lookups. */
  partners: PartnerDirectory
  /** Per-partner windows and leases. */
  rateLimits: PartnerRateLimits
  /** Queries this isolate has validated, by their raw query string: the hot path's shortcut. */
  hotQueries: Map<string, NormalizedQuery>
  /** The headers every page response carries that do not change per request (learned). */
  pageHeaderTemplate: [string, string][] | null
}

/** What one upstream call did, for the request's log line. */
export interface UpstreamTrace {
  status?: number
  outcome?: 'response' | 'timeout' | 'network_error'
  ms?: number
  requestId?: string | null
  attempts?: number
}

export interface AppBindings {
  /** `OPERATOR_KEY` is an optional secret, so `wrangler types` cannot list it. */
  Bindings: Env & { OPERATOR_KEY?: string }
  Variables: {
    /** The gateway's clock in epoch milliseconds; injectable so freshness can be tested. */
    now: () => number
    state: AppState
    /** The authenticated partner, on `/v1/*` routes. */
    partner: Partner
    /** Set when the request called the upstream. */
    upstream: UpstreamTrace
    /** What went wrong, for operators only: logged, never sent. */
    errorDetail: string
  }
}

export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppBindings>
