// `npm run docs:tables`: rewrites the README's generated tables (vars, errors) from the code.
// test/integration/generated-docs.test.ts fails when the committed README differs.
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { main, readArgs } from './cli'
import { withTables } from './tables'

await main('npm run docs:tables', () => {
  readArgs({
    name: 'npm run docs:tables',
    help: 'usage: npm run docs:tables\n\nRewrites the tables between the generated markers of README.md from src/config.ts and src/error-catalogue.ts.',
    options: {},
  })
  const path = join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md')
  const before = readFileSync(path, 'utf8')
  const after = withTables(before)
  writeFileSync(path, after)
  console.log(
    after === before ? 'README.md: tables already current' : 'README.md: tables rewritten',
  )
})
