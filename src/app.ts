import { groupsRoutes } from './groups/handler'
import { corsFromAllowlist } from './http/cors'
import { methodNotAllowed, notFound, onError } from './http/errors'
import { createOpenApiApp } from './http/openapi'
import { securityHeaders } from './http/security-headers'
import { telemetry } from './http/telemetry'
import { healthRoutes } from './ops/health'
import { OPENAPI_PATH, serveDocs } from './ops/openapi'
import { operatorRoutes } from './ops/operator'
import { CacheGeneration } from './pages/generation'
import { MemoryPages } from './pages/memory'
import { PartnerDirectory } from './partners/directory'
import { FailedAuthLimiter } from './partners/failures'
import { PartnerLimiter } from './partners/limiter'
import { partnerAuth, partnerRateLimit } from './partners/middleware'
import { DemandCounter } from './prewarm/demand'

/** What the app keeps between requests (one per isolate); tests replace the clock or limiter. */
export function createState(options: { now?: () => number; limiter?: PartnerLimiter } = {}) {
  return {
    now: options.now ?? Date.now,
    memory: new MemoryPages(),
    generation: new CacheGeneration(),
    refreshing: new Map<string, number>(),
    demand: new DemandCounter(),
    partners: new PartnerDirectory(),
    limiter: options.limiter ?? new PartnerLimiter(),
    failures: new FailedAuthLimiter(),
  }
}

/**
 * The gateway: one pipeline for every request. Telemetry (with the request id) wraps everything;
 * security headers and CORS apply to every response; `/healthz`, `/openapi.json` and `/docs` are
 * public; under `/v1` a partner key, then the partner's rate limit, then validation.
 */
export function createApp(state = createState()) {
  const app = createOpenApiApp()
  app.use(telemetry(), securityHeaders(), corsFromAllowlist())
  healthRoutes(app)
  serveDocs(app)
  app.on('ALL', ['/healthz', OPENAPI_PATH, '/docs'], methodNotAllowed(['GET', 'HEAD']))
  operatorRoutes(app, state)
  app.use('/v1/*', partnerAuth(state), partnerRateLimit(state.limiter))
  groupsRoutes(app, state)
  app.notFound(notFound)
  app.onError(onError)
  return app
}
