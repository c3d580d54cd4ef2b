import { OpenAPIHono } from '@hono/zod-openapi'
import { groupsRouter } from './groups/handler'
import { corsFromAllowlist } from './http/cors'
import { methodNotAllowed, notFound, onError } from './http/errors'
import { requestId } from './http/request-id'
import { securityHeaders } from './http/security-headers'
import { telemetry } from './http/telemetry'
import { docsRouter } from './ops/docs'
import { healthRouter } from './ops/health'
import { documentConfig, OPENAPI_PATH, PARTNER_KEY_SCHEME } from './ops/openapi'
import { operatorRouter } from './ops/operator'
import { CacheGeneration } from './pages/generation'
import { MemoryPages } from './pages/memory'
import { PartnerDirectory } from './partners/directory'
import { FailedAuthLimiter } from './partners/failures'
import { PartnerLimiter } from './partners/limiter'
import { partnerAuth, partnerRateLimit } from './partners/middleware'
import { DemandCounter } from './prewarm/demand'
import type { PagesState } from './prewarm/page-deps'

/** What the app keeps between requests: one per isolate in production. */
export interface AppState extends PagesState {
  partners: PartnerDirectory
  limiter: PartnerLimiter
  failures: FailedAuthLimiter
}

/** A fresh isolate's state; tests replace the clock or the limiter. */
export function createState(options: Partial<Pick<AppState, 'now' | 'limiter'>> = {}): AppState {
  return {
    now: options.now ?? Date.now,
    memory: new MemoryPages(),
    generation: new CacheGeneration(),
    refreshing: new Map(),
    demand: new DemandCounter(),
    partners: new PartnerDirectory(),
    limiter: options.limiter ?? new PartnerLimiter(),
    failures: new FailedAuthLimiter(),
  }
}

/**
 * Builds the gateway: one pipeline for every request. Order matters: the request id comes first
 * and telemetry wraps everything; security headers and CORS apply to every response;
 * `/healthz`, `/openapi.json` and `/docs` are public; everything under `/v1` needs a partner key,
 * then passes the partner's rate limit, then validation.
 */
export function createApp(state: AppState = createState()) {
  const app = new OpenAPIHono<{ Bindings: Env }>({ strict: true })
  app.use(requestId())
  app.use(telemetry())
  app.use(securityHeaders())
  app.use(corsFromAllowlist())

  app.route('/', healthRouter)
  app.route('/', docsRouter)
  app.doc31(OPENAPI_PATH, documentConfig)
  app.openAPIRegistry.registerComponent('securitySchemes', PARTNER_KEY_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    description:
      'A partner key (`gwp_...`), issued by the gateway\u2019s operators with `npm run partners -- create`.',
  })
  for (const path of ['/healthz', OPENAPI_PATH, '/docs']) {
    app.all(path, methodNotAllowed(['GET', 'HEAD']))
  }

  app.route('/', operatorRouter(state.generation, state.now, state.failures))

  app.use(
    '/v1/*',
    partnerAuth(state.partners, state.failures, state.now),
    partnerRateLimit(state.limiter),
  )
  app.route('/', groupsRouter(state))

  app.notFound(notFound)
  app.onError(onError)
  return app
}
