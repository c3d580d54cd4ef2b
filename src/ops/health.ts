import { createRoute, z } from '@hono/zod-openapi'
import { version } from '../../package.json'
import { readConfig } from '../config'
import { errorSpecs } from '../error-catalogue'
import { AppError } from '../errors'
import { type App, errorResponses, onFirstUse } from '../http/openapi'
import { readPartnerKeySecret } from '../partners/directory'
import { readAdminKey } from '../upstream/client'

const healthSchema = () =>
  z
    .object({
      status: z.literal('ok').openapi({ description: 'Always `ok` when the worker answers.' }),
      version: z.string().openapi({ description: 'The gateway\u2019s version.', example: '0.1.0' }),
    })
    .openapi('Health', { description: 'The gateway is up.' })

const health = createRoute({
  method: 'get',
  path: '/healthz',
  operationId: 'getHealth',
  tags: ['Operations'],
  summary: 'Health check',
  description:
    'Answers without authentication and without calling the upstream or KV: for load balancers and uptime checks. A gateway whose configuration is broken (a missing secret, a malformed var) is not healthy: it answers 503, and its log line says why.',
  security: [],
  // Built on first use (see `onFirstUse`), the schema too: only the document reads them.
  responses: onFirstUse(() => ({
    200: {
      description: 'The worker is up and configured.',
      content: { 'application/json': { schema: healthSchema() } },
    },
    ...errorResponses([errorSpecs().unhealthy]),
  })),
})

export function healthRoutes(app: App) {
  app.openapi(health, (c) => {
    try {
      // Each is checked where it is used too; here they only decide health. Neither reads KV.
      readConfig(c.env)
      readAdminKey(c.env)
      readPartnerKeySecret(c.env)
    } catch (err) {
      if (!(err instanceof AppError)) throw err
      throw new AppError('unhealthy', { detail: err.detail })
    }
    return c.json({ status: 'ok', version }, 200, { 'Cache-Control': 'no-store' })
  })
}
