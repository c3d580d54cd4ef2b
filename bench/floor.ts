// The framework floor (`npm run bench`): the ceiling's effects, and only what the framework adds.
// The same route declared with @hono/zod-openapi on the gateway's own schemas, so every request's
// query is validated by the zod validator; then the handler does exactly what the ceiling does (the
// rate-limit binding call, the KV read for a KV hit, the hit's log line, the data point, a fresh
// request id, the gateway's headers) and answers the page's bytes, encoded once per isolate, with
// its headers copied from one Headers built once per isolate, as the ceiling does.
//
// bench/run.ts builds it with esbuild as wrangler would, with the pages, lines and headers of this
// run defined as constants (FLOOR_*), and, with no pages, as the start-up floor.
import { createRoute, OpenAPIHono } from '@hono/zod-openapi'
import { GroupListSchema, ListGroupsQuerySchema } from '../src/upstream/schemas'

/** One page the floor serves: what a gateway hit on it answers and logs. */
interface FloorPage {
  limit: number
  body: string
  headers: [string, string][]
  line: string
  /** The page's KV key, for the KV variant. */
  key: string
}
declare const FLOOR_KV: boolean
declare const FLOOR_PARTNER: string
declare const FLOOR_PAGES: FloorPage[]

interface FloorEnv {
  RATE_LIMIT: RateLimit
  CACHE: KVNamespace
  USAGE: AnalyticsEngineDataset
  VERSION: WorkerVersionMetadata
}

const encoder = new TextEncoder()
const PAGES = new Map(
  FLOOR_PAGES.map(
    (p) =>
      [p.limit, { ...p, bytes: encoder.encode(p.body), fixed: new Headers(p.headers) }] as const,
  ),
)

const route = createRoute({
  method: 'get',
  path: '/v1/organization/groups',
  request: { query: ListGroupsQuerySchema },
  responses: {
    200: {
      content: { 'application/json': { schema: GroupListSchema } },
      description: 'One page of groups.',
    },
  },
})

const app = new OpenAPIHono<{ Bindings: FloorEnv }>()
app.openapi(route, async (c) => {
  const page = PAGES.get(c.req.valid('query').limit)
  if (!page) return new Response(null, { status: 404 }) as never
  await c.env.RATE_LIMIT.limit({ key: FLOOR_PARTNER })
  const body = FLOOR_KV ? (await c.env.CACHE.getWithMetadata(page.key, 'text')).value : page.bytes
  const response = new Response(body, { headers: page.fixed })
  response.headers.set('x-request-id', crypto.randomUUID())
  console.log(page.line)
  c.env.USAGE.writeDataPoint({
    indexes: [FLOOR_PARTNER],
    blobs: ['/v1/organization/groups', 'GET', 'hit', '', c.env.VERSION.id],
    doubles: [200, 0, 0, 0],
  })
  return response as never
})

export default app
