// `npm run openapi`: writes the contract SDK generators consume, from the route definitions.
// test/integration/openapi.test.ts fails when this file and the served document differ.
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { main, readArgs } from '../scripts/cli'
import { createApp } from '../src/app'
import { documentConfig } from '../src/ops/openapi'

await main('npm run openapi', () => {
  readArgs({
    name: 'npm run openapi',
    help: 'usage: npm run openapi\n\nRewrites openapi/openapi.json from the route definitions.',
    options: {},
  })
})
const document = createApp().getOpenAPI31Document(documentConfig)
const target = join(dirname(fileURLToPath(import.meta.url)), 'openapi.json')
writeFileSync(target, `${JSON.stringify(document, null, 2)}\n`)
console.log(`wrote ${target}`)
