import { OpenAPIHono } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import { requestId } from 'hono/request-id'
import { accessLog } from './access-log'
import { CacheGeneration } from './cache/generation'
import { MemoryPages } from './cache/memory'
import { docsRouter } from './docs'
import { methodNotAllowed, notFound, onError } from './errors'
import { groupsRouter } from './groups'
import { healthRouter } from './health'
import { DYNAMIC_PAGE_HEADERS } from './hot-path'
import { documentConfig, OPENAPI_PATH, PARTNER_KEY_SCHEME } from './openapi'
import { operatorRouter } from './operator'
import { PartnerDirectory, partnerAuth } from './partners/auth'
import { PartnerRateLimits, partnerRateLimit } from './partners/rate-limit'
import { corsFromAllowlist, securityHeaders } from './security'
import type { AppBindings, AppState } from './types'

export interface AppOptions {
  /** The clock freshness and key lookups are measured on, in epoch milliseconds. */
  now?: () => number
  /** What the app keeps between requests; one per isolate in production. */
  state?: AppState
}

export function createState(): AppState {
  return {
    generation: new CacheGeneration(),
    pages: new MemoryPages(),
    partners: new PartnerDirectory(),
    rateLimits: new PartnerRateLimits(),
    hotQueries: new Map(),
    pageHeaderTemplate: null,
  }
}

/**
 * Builds the gateway. Order matters: the log line wraps everything; headers and CORS apply to every
 * response; `/healthz`, `/openapi.json` and `/docs` are public; everything under `/v1` needs a
 * partner key, then passes the partner's rate limit, then validation.
 */
export function createApp({ now = Date.now, state = createState() }: AppOptions = {}) {
  const app = new OpenAPIHono<AppBindings>({ strict: true })
  // Outermost, so it sees the response with every header added.
  app.use('/v1/organization/groups', learnPageHeaders)
  app.use(requestId())
  app.use(accessLog())
  app.use(securityHeaders())
  app.use(corsFromAllowlist())
  app.use(async function injectState(c, next) {
    c.set('now', now)
    c.set('state', state)
    await next()
  })

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

  app.route('/', operatorRouter)

  app.use('/v1/*', partnerAuth(), partnerRateLimit())
  app.route('/', groupsRouter)

  app.notFound(notFound)
  app.onError(onError)
  return app
}

/**
 * Records, once per isolate, the headers a page response carries that do not vary per request
 * (security headers, content type): the hot path sends exactly these. Learned from a plain 200
 * page (no Origin), after every middleware has added its headers.
 */
const learnPageHeaders: MiddlewareHandler<AppBindings> = async function learnPageHeaders(c, next) {
  await next()
  const state = c.get('state')
  if (!state || state.pageHeaderTemplate !== null || c.res.status !== 200) return
  if (c.req.method !== 'GET' || c.req.header('origin') !== undefined) return
  if (!c.res.headers.get('cache-status')) return
  state.pageHeaderTemplate = [...c.res.headers].filter(([name]) => !DYNAMIC_PAGE_HEADERS.has(name))
}
