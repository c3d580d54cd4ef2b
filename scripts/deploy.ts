// `npm run deploy`: ships a commit to an environment, deciding how from what is live. See HELP.
import { spawnSync } from 'node:child_process'
import {
  argumentsChecked,
  CommandError,
  integer,
  isMain,
  main,
  progress,
  readArgs,
  UsageError,
} from './cli'
import { currentVersion, parseSteps, rollout, uploadedVersion } from './rollout'
import { type Pin, readUrl, smoke } from './smoke'
import { readEnvironment, workerName, wrangler } from './wrangler'

const HELP = `usage: npm run deploy -- --env ENV --sha COMMIT --smoke URL [--steps 10,50,100] [--wait 300]

Ships COMMIT (checked out, with its full history) to ENV, deciding how from what is live:
  - no deployment yet: \`wrangler deploy\` (creates the Worker and its namespaces), then a smoke
    check pinned to the new version;
  - a Durable Object migration between the live version's commit (its tag) and COMMIT, or a live
    version of unknown commit: \`wrangler deploy\` whole (a version that changes a Durable Object
    class cannot be uploaded), then the pinned smoke check;
  - otherwise a gradual rollout: \`wrangler versions upload --tag COMMIT\`, then each step's share
    of traffic, --wait seconds, and a smoke check pinned to the new version; a failed check puts the
    previous version back at 100 % (exit 1). After 100 %, \`wrangler triggers deploy\` applies any
    cron change (versions upload does not).

  --env ENV       the environment (the [env.*] tables of wrangler.toml)
  --sha COMMIT    the commit being shipped (7-40 hex digits), recorded as the version's tag
  --smoke URL     the environment's URL, for npm run smoke's checks
  --steps LIST    percentages, increasing, ending at 100 (default 10,50,100)
  --wait SECONDS  before each step's checks (default 300)

Environment: SMOKE_PARTNER_KEY (a partner of that environment), and CLOUDFLARE_API_TOKEN and
CLOUDFLARE_ACCOUNT_ID for wrangler.`

/** Lines of wrangler.toml that declare or change a Durable Object class's lifecycle. */
const MIGRATION_LINE =
  /^[+-].*(\[\[(env\.[\w-]+\.)?migrations\]\]|new_sqlite_classes|new_classes|deleted_classes|renamed_classes|transferred_classes)/m

function git(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('git', args, { encoding: 'utf8' })
  return { ok: r.status === 0, out: r.stdout }
}

/**
 * Whether wrangler.toml's migrations changed between the live commit and the one shipped, over
 * the whole history between them (every commit of a push, and of runs that were cancelled). null:
 * the live commit is not in this history, so it cannot be told.
 */
export function migrationsChanged(live: string, next: string): boolean | null {
  if (!git(['cat-file', '-e', `${live}^{commit}`]).ok) return null
  const diff = git(['diff', live, next, '--', 'wrangler.toml'])
  if (!diff.ok) return null
  return MIGRATION_LINE.test(diff.out)
}

/** The commit the live version was uploaded for: its `workers/tag` annotation. */
function liveCommit(env: string, versionId: string): string | null {
  const out = wrangler(['versions', 'view', versionId, '--env', env, '--json'])
  const version = JSON.parse(out) as { annotations?: Record<string, string> }
  const tag = version.annotations?.['workers/tag']
  return tag && /^[0-9a-f]{7,40}$/.test(tag) ? tag : null
}

/** The live deployment's JSON, or null when the environment has none yet. */
function liveDeployment(env: string): string | null {
  try {
    return wrangler(['deployments', 'status', '--env', env, '--json'])
  } catch (err) {
    if (/has no deployments|not found|\[code: 10007\]/i.test((err as Error).message)) return null
    throw err
  }
}

async function run(argv: string[]): Promise<void> {
  const { values } = readArgs(
    {
      name: 'npm run deploy',
      help: HELP,
      options: {
        env: { type: 'string' },
        sha: { type: 'string' },
        smoke: { type: 'string' },
        steps: { type: 'string', default: '10,50,100' },
        wait: { type: 'string', default: '300' },
      },
    },
    argv,
  )
  const required = (name: 'sha' | 'smoke') => {
    const value = values[name]
    if (value === undefined) throw new UsageError(`--${name} is required`)
    return value
  }
  const env = readEnvironment(values.env)
  const sha = required('sha')
  if (!/^[0-9a-f]{7,40}$/.test(sha)) {
    throw new UsageError(`--sha must be a commit id (7-40 hex digits); got '${sha}'`)
  }
  const smokeUrl = readUrl('--smoke', required('smoke'))
  const steps = parseSteps(values.steps)
  const waitMs = integer('--wait', values.wait, 0, 3600) * 1000
  const key = process.env.SMOKE_PARTNER_KEY
  if (!key) throw new UsageError('SMOKE_PARTNER_KEY must hold a partner key of that environment')
  argumentsChecked('npm run deploy')

  const worker = workerName(env)
  const print = (line: string) => console.log(line)
  const checkPinned = async (versionId: string) => {
    const pin: Pin = { worker, versionId }
    const result = await smoke(smokeUrl, key, pin)
    for (const line of result.checks) print(line)
    return result
  }
  const deployWhole = async (why: string) => {
    print(`deploying ${sha} to ${env} whole: ${why}`)
    progress(`wrangler deploy --env ${env}…`)
    const out = wrangler(['deploy', '--env', env, '--minify'])
    const id = /Current Version ID:\s*([0-9a-f-]{36})/.exec(out)?.[1]
    if (!id) throw new CommandError('wrangler deploy printed no "Current Version ID"')
    if (!(await checkPinned(id)).ok) {
      throw new CommandError(`version ${id} is live and failed its smoke check: roll back by hand`)
    }
    print(`${id} at 100%`)
  }

  progress(`reading the live deployment of '${env}' through wrangler…`)
  const live = liveDeployment(env)
  if (live === null) return deployWhole('it has no deployment yet')
  const previous = currentVersion(live)
  const liveSha = liveCommit(env, previous)
  const changed = liveSha === null ? null : migrationsChanged(liveSha, sha)
  if (changed === null) return deployWhole('the live version has no commit this history knows')
  if (changed) return deployWhole(`a Durable Object migration since ${liveSha}`)

  progress(`wrangler versions upload --env ${env} --tag ${sha}…`)
  const next = uploadedVersion(
    wrangler(['versions', 'upload', '--env', env, '--minify', '--tag', sha, '--message', sha]),
  )
  const ok = await rollout(
    { env, next, previous, steps },
    (args) => {
      progress(`wrangler ${args.slice(0, 4).join(' ')}…`)
      return wrangler(args)
    },
    () => checkPinned(next),
    () => {
      progress(`waiting ${waitMs / 1000} s before the smoke checks…`)
      return new Promise((resolve) => setTimeout(resolve, waitMs))
    },
    print,
  )
  if (!ok) throw new CommandError(`${next} failed its smoke check and was rolled back`)
  progress(`wrangler triggers deploy --env ${env}…`)
  wrangler(['triggers', 'deploy', '--env', env])
  print(`triggers applied to ${worker}`)
}

if (isMain(import.meta.url)) {
  await main('npm run deploy', () => run(process.argv.slice(2)))
}
