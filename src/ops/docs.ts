import { swaggerUI } from '@hono/swagger-ui'
import { type Context, Hono } from 'hono'
import { OPENAPI_PATH } from './openapi'

/** Swagger UI's files, copied from the pinned `swagger-ui-dist` into the static assets. */
const DOCS_ASSETS_BASE = '/docs/assets'

/**
 * Starts Swagger UI from a file of our own rather than an inline script, so the page's CSP can
 * allow scripts from this origin only.
 */
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({
  dom_id: '#swagger-ui',
  url: ${JSON.stringify(OPENAPI_PATH)},
  deepLinking: true,
  displayRequestDuration: true,
})
`

export const docsRouter = new Hono<{ Bindings: Env }>()
  .get(
    '/docs',
    swaggerUI({
      url: OPENAPI_PATH,
      baseUrl: DOCS_ASSETS_BASE,
      title: 'Groups Gateway \u2014 API docs',
      manuallySwaggerUIHtml: (asset) =>
        [
          '<div id="swagger-ui"></div>',
          ...asset.css.map((href) => `<link rel="stylesheet" href="${href}" />`),
          ...asset.js.map((src) => `<script src="${src}"></script>`),
          '<script src="/docs/init.js"></script>',
        ].join('\n'),
    }),
  )
  .get('/docs/init.js', (c) =>
    c.body(INIT_SCRIPT, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }),
  )
  .get(`${DOCS_ASSETS_BASE}/*`, (c) => serveAsset(c, c.req.raw))
  // Browsers ask for it on their own: answer with Swagger UI's icon rather than a 404.
  .get('/favicon.ico', (c) =>
    serveAsset(
      c,
      new Request(new URL(`${DOCS_ASSETS_BASE}/swagger-ui-dist/favicon-32x32.png`, c.req.url)),
    ),
  )

async function serveAsset(c: Context<{ Bindings: Env }>, request: Request) {
  // The worker runs first on every path (wrangler.toml), so these pass through its headers too.
  const asset = await c.env.ASSETS.fetch(request)
  // No such file: the JSON 404 every other unknown path gets.
  if (asset.status === 404) return c.notFound()
  // Through the context, so the request id and security headers are added like anywhere else.
  return c.newResponse(asset.body as ReadableStream, asset)
}
