import { createRoute, z } from '@hono/zod-openapi'
import pkg from '../../package.json'
import { createRouter } from '../http/router'

const HealthSchema = z
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
    'Answers without authentication and without calling the upstream or KV: for load balancers and uptime checks.',
  security: [],
  responses: {
    200: {
      description: 'The worker is up.',
      content: { 'application/json': { schema: HealthSchema } },
    },
  },
})

export const healthRouter = createRouter().openapi(health, (c) =>
  c.json({ status: 'ok' as const, version: pkg.version }, 200, { 'Cache-Control': 'no-store' }),
)
