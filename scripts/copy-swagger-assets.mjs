// Copies the two Swagger UI files /docs needs from the pinned swagger-ui-dist package into the
// worker's static assets, so the docs page loads nothing from a CDN. Runs on `npm install`.
import { copyFileSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
let dist
try {
  dist = dirname(require.resolve('swagger-ui-dist/package.json'))
} catch {
  // A production-only install has no dev dependencies and no docs to build.
  console.warn('swagger-ui-dist is not installed: /docs assets not copied')
  process.exit(0)
}
const target = join(root, 'public', 'docs', 'assets', 'swagger-ui-dist')
mkdirSync(target, { recursive: true })
for (const file of ['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png']) {
  copyFileSync(join(dist, file), join(target, file))
}
