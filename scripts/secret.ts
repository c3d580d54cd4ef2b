// `npm run secret -- put NAME --env ENV`: changes a deployed environment's secret without
// `wrangler secret put`, which refuses while the newest uploaded version is not the deployed one.
// See HELP.
import { readFileSync } from 'node:fs'
import {
  argumentsChecked,
  CommandError,
  isMain,
  main,
  oneOf,
  progress,
  readArgs,
  UsageError,
} from './cli'
import { currentVersion } from './rollout'
import { readEnvironment, wrangler } from './wrangler'

const HELP = `usage: npm run secret -- put NAME --env ENV   (the value on standard input)

Puts a secret on a new version of ENV's Worker and deploys that version at 100 %:
\`wrangler versions secret put\` then \`wrangler versions deploy\`. The new version copies the newest
uploaded one, so it refuses (changing nothing) while that is not the version serving all traffic:
during a rollout, or after one was rolled back. Finish the rollout, or ship the live commit again
with npm run deploy, then run it again.

  --env ENV   the environment (the [env.*] tables of wrangler.toml)

Example: printf %s "$NEW_ADMIN_KEY" | npm run secret -- put OPENAI_ADMIN_KEY --env production`

async function run(argv: string[]): Promise<void> {
  const { values, positionals } = readArgs(
    {
      name: 'npm run secret',
      help: HELP,
      options: { env: { type: 'string' } },
      positionals: [2, 2],
    },
    argv,
  )
  oneOf('the command', positionals[0] ?? '', ['put'])
  const name = positionals[1] ?? ''
  if (!/^[A-Z][A-Z0-9_]{0,63}$/.test(name)) {
    throw new UsageError(`the secret's name must be UPPER_SNAKE_CASE; got '${name}'`)
  }
  const env = readEnvironment(values.env)
  argumentsChecked('npm run secret')
  const value = readFileSync(0, 'utf8')
  if (value === '') throw new UsageError("the secret's value comes on standard input; got none")

  progress(`reading the live deployment and versions of '${env}' through wrangler…`)
  let deployed: string
  try {
    deployed = currentVersion(wrangler(['deployments', 'status', '--env', env, '--json']))
  } catch (err) {
    throw new CommandError(`${(err as Error).message}`)
  }
  const versions = JSON.parse(wrangler(['versions', 'list', '--env', env, '--json'])) as {
    id: string
  }[]
  const newest = versions.at(-1)?.id
  if (newest !== deployed) {
    throw new CommandError(
      `the newest uploaded version (${newest}) is not the deployed one (${deployed}): a new version would copy it. Ship the live commit again with npm run deploy, then retry`,
    )
  }
  progress(`wrangler versions secret put ${name} --env ${env}…`)
  const put = wrangler(['versions', 'secret', 'put', name, '--env', env], value)
  const created = /Created version ([0-9a-f-]{36})/.exec(put)?.[1]
  if (!created) throw new CommandError('wrangler versions secret put printed no "Created version"')
  progress(`wrangler versions deploy ${created}@100%…`)
  wrangler([
    'versions',
    'deploy',
    `${created}@100%`,
    '--env',
    env,
    '--yes',
    '--message',
    `secret ${name}`,
  ])
  console.log(
    `put ${name} on environment '${env}': version ${created} (the code of ${deployed}) now serves all traffic; requests under way finish on the old one.`,
  )
}

if (isMain(import.meta.url)) {
  await main('npm run secret', () => run(process.argv.slice(2)))
}
