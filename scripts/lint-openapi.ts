// `npm run lint:openapi`: Redocly's recommended ruleset on the committed contract. Redocly fails
// only on errors; this fails on warnings too, since the contract is held to zero of both.
import { spawnSync } from 'node:child_process'
import { main, readArgs } from './cli'

await main('npm run lint:openapi', () => {
  readArgs({
    name: 'npm run lint:openapi',
    help: "usage: npm run lint:openapi\n\nRedocly's recommended rules on openapi/openapi.json; fails on any error or warning.",
    options: {},
  })
})

const run = (format: string) =>
  spawnSync('redocly', ['lint', 'openapi/openapi.json', `--format=${format}`], {
    encoding: 'utf8',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off' },
  })

const report = run('json')
const totals = (JSON.parse(report.stdout) as { totals: Record<string, number> }).totals
console.log(
  `openapi/openapi.json: ${totals.errors} errors, ${totals.warnings} warnings, ${totals.ignored} ignored (each with its reason in .redocly.lint-ignore.yaml)`,
)
if (totals.errors || totals.warnings) {
  console.log(run('stylish').stdout)
  process.exit(1)
}
