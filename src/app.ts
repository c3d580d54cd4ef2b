import { swaggerUI } from '@hono/swagger-ui'
import { OpenAPIHono } from '@hono/zod-openapi'
import { requestId } from 'hono/request-id'
import { methodNotAllowed, notFound, onError } from './errors'
import { groupsRouter } from './groups'
import { documentConfig, OPENAPI_PATH } from './openapi'
import type { AppBindings } from './types'

export interface AppOptions {
  /** The clock freshness is measured on, in epoch milliseconds. */
  now?: () => number
}

/** Swagger UI's files, copied from the pinned `swagger-ui-dist` into the static assets. */
export const DOCS_ASSETS_BASE = '/docs/assets'

/** Builds the gateway: request id, then routes, then one error handler and one 404. */
export function createApp({ now = Date.now }: AppOptions = {}) {
  const app = new OpenAPIHono<AppBindings>({ strict: true })
  app.use(requestId())
  app.use(async function injectClock(c, next) {
    c.set('now', now)
    await next()
  })

  app.route('/', groupsRouter)

  app.doc31(OPENAPI_PATH, documentConfig)
  app.all(OPENAPI_PATH, methodNotAllowed(['GET', 'HEAD']))
  app.get(
    '/docs',
    swaggerUI({
      url: OPENAPI_PATH,
      baseUrl: DOCS_ASSETS_BASE,
      title: 'Groups Gateway \u2014 API docs',
    }),
  )
  app.all('/docs', methodNotAllowed(['GET', 'HEAD']))

  app.notFound(notFound)
  app.onError(onError)
  return app
}
