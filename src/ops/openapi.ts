import type { OpenAPIHono } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { version } from '../../package.json'

export const OPENAPI_PATH = '/openapi.json'

/** The document's top level, shared by the served `/openapi.json` and `npm run openapi`. */
export const documentConfig = {
  openapi: '3.1.0',
  info: {
    title: 'Groups Gateway',
    version,
    description:
      'An edge gateway on Cloudflare Workers in front of the OpenAI Admin API\u2019s List groups endpoint. It answers with the same path, parameters, page and error shapes as the upstream, so the official `openai` SDK works pointed at it (`baseURL` = this origin + `/v1`), and serves pages from a Workers KV cache while they are fresh. The upstream admin key never leaves the gateway.',
    license: { name: 'MIT', identifier: 'MIT' },
    contact: { name: 'Groups Gateway operators', email: 'gateway-operators@example.com' },
  },
  servers: [{ url: '/', description: 'This gateway, on the origin that serves this document.' }],
  security: [{ PartnerKey: [] }],
  tags: [
    { name: 'Groups', description: 'The organization\u2019s groups.' },
    { name: 'Operations', description: 'Endpoints for running the gateway.' },
  ],
}

/** Swagger UI's files, copied from the pinned `swagger-ui-dist` into the static assets. */
const DOCS_ASSETS_BASE = '/docs/assets'
const FAVICON = `${DOCS_ASSETS_BASE}/swagger-ui-dist/favicon-32x32.png`

/** Starts Swagger UI from a file of ours, not an inline script: the CSP allows only 'self'. */
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({
  dom_id: '#swagger-ui',
  url: ${JSON.stringify(OPENAPI_PATH)},
  deepLinking: true,
  displayRequestDuration: true,
})
`

/**
 * Swagger UI's page: a constant, written once (what `@hono/swagger-ui` would render from its
 * options, without its 3 KB renderer in every isolate). Styles and scripts are our own files.
 */
const DOCS_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="description" content="Swagger UI for the Groups Gateway's OpenAPI document" />
    <title>Groups Gateway \u2014 API docs</title>
  </head>
  <body>
    <div id="swagger-ui"></div>
    <link rel="stylesheet" href="${DOCS_ASSETS_BASE}/swagger-ui-dist/swagger-ui.css" />
    <script src="${DOCS_ASSETS_BASE}/swagger-ui-dist/swagger-ui-bundle.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`

async function serveAsset(c: Context<{ Bindings: Env }>, request: Request) {
  // The worker runs first on every path (wrangler.toml): assets get its headers too, through the
  // context, and a missing file the JSON 404 of any unknown path.
  const asset = await c.env.ASSETS.fetch(request)
  if (asset.status === 404) return c.notFound()
  return c.newResponse(asset.body as ReadableStream, asset)
}

/** Serves the document at `/openapi.json`, with the partners' bearer scheme, and Swagger UI. */
export function serveDocs(app: OpenAPIHono<{ Bindings: Env }>) {
  app
    .get('/docs', (c) => c.html(DOCS_PAGE))
    .get('/docs/init.js', (c) =>
      c.body(INIT_SCRIPT, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }),
    )
    .get(`${DOCS_ASSETS_BASE}/*`, (c) => serveAsset(c, c.req.raw))
    // Browsers ask for it on their own: answer with Swagger UI's icon rather than a 404.
    .get('/favicon.ico', (c) => serveAsset(c, new Request(new URL(FAVICON, c.req.url))))
  app.doc31(OPENAPI_PATH, documentConfig)
  app.openAPIRegistry.registerComponent('securitySchemes', 'PartnerKey', {
    type: 'http',
    scheme: 'bearer',
    description:
      'A partner key (`gwp_...`), issued by the gateway\u2019s operators with `npm run partners -- create`.',
  })
}
