import { OpenAPIHono } from '@hono/zod-openapi'
import { requestId } from 'hono/request-id'
import { accessLog } from './access-log'
import { CacheGeneration } from './cache/generation'
import { MemoryPages } from './cache/memory'
import { docsRouter } from './docs'
import { methodNotAllowed, notFound, onError } from './errors'
import { groupsRouter } from './groups'
import { healthRouter } from './health'
import { documentConfig, OPENAPI_PATH, PARTNER_KEY_SCHEME } from './openapi'
import { operatorRouter } from './operator'
import { partnerAuth } from './partners/auth'
import { partnerRateLimit } from './partners/rate-limit'
import { corsFromAllowlist, securityHeaders } from './security'
import type { AppBindings, AppState } from './types'

export interface AppOptions {
  /** The clock freshness and key lookups are measured on, in epoch milliseconds. */
  now?: () => number
}

/**
 * Builds the gateway. Order matters: the log line wraps everything; headers and CORS apply to every
 * response; `/healthz`, `/openapi.json` and `/docs` are public; everything under `/v1` needs a
 * partner key, then passes the partner's rate limit, then validation.
 */
export function createApp({ now = Date.now }: AppOptions = {}) {
  const app = new OpenAPIHono<AppBindings>({ strict: true })
  app.use(requestId())
  app.use(accessLog())
  app.use(securityHeaders())
  app.use(corsFromAllowlist())
  const state: AppState = { generation: new CacheGeneration(), pages: new MemoryPages() }
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

  app.use('/v1/*', partnerAuth(now), partnerRateLimit())
  app.route('/', groupsRouter)

  app.notFound(notFound)
  app.onError(onError)
  return app
}
