// `npm run rollout`: a gradual deployment, smoke-checked at each step. See HELP.
import {
  argumentsChecked,
  CommandError,
  integer,
  isMain,
  main,
  oneOf,
  progress,
  readArgs,
  UsageError,
} from './cli'
import { readUrl, smoke } from './smoke'
import { environments, wrangler } from './wrangler'

/** The version id `wrangler versions upload` printed. */
export function uploadedVersion(output: string): string {
  const id = /Worker Version ID:\s*([0-9a-f-]{36})/i.exec(output)?.[1]
  if (!id) throw new Error('no "Worker Version ID" in the versions upload output')
  return id
}

/** The version serving all traffic now, from `wrangler deployments status --json`. */
export function currentVersion(statusJson: string): string {
  const status = JSON.parse(statusJson) as {
    versions?: { version_id: string; percentage: number }[]
  }
  const whole = status.versions?.find((v) => v.percentage === 100)
  if (!whole)
    throw new Error('the current deployment is itself split: finish or roll it back first')
  return whole.version_id
}

export interface RolloutPlan {
  env: string
  next: string
  previous: string
  steps: number[]
}

/** The `wrangler versions deploy` arguments for one step. */
export function stepArgs(plan: RolloutPlan, percent: number): string[] {
  const split =
    percent >= 100
      ? [`${plan.next}@100%`]
      : [`${plan.next}@${percent}%`, `${plan.previous}@${100 - percent}%`]
  return [
    'versions',
    'deploy',
    ...split,
    '--env',
    plan.env,
    '--yes',
    '--message',
    `rollout ${percent}%`,
  ]
}

/** Runs the plan; `run` is wrangler, `check` the smoke checks, `wait` the pause between steps. */
export async function rollout(
  plan: RolloutPlan,
  run: (args: string[]) => string,
  check: () => Promise<{ ok: boolean; checks: string[] }>,
  wait: () => Promise<void>,
  print: (line: string) => void,
): Promise<boolean> {
  for (const percent of plan.steps) {
    run(stepArgs(plan, percent))
    print(`${plan.next} at ${percent}%`)
    await wait()
    const result = await check()
    for (const line of result.checks) print(line)
    if (!result.ok) {
      run([
        'versions',
        'deploy',
        `${plan.previous}@100%`,
        '--env',
        plan.env,
        '--yes',
        '--message',
        'rollback',
      ])
      print(`rolled back: ${plan.previous} at 100%`)
      return false
    }
  }
  return true
}

const HELP = `usage: npm run rollout -- --env ENV --output TEXT --smoke URL [--steps 10,50,100] [--wait 300]

A gradual deployment of the version wrangler versions upload just made: at each step the new
version takes that share of traffic beside the one deployed now; after --wait seconds the smoke
checks run, and if any fails the old version is put back at 100 % (exit 1).

  --env ENV       the environment (the [env.*] tables of wrangler.toml)
  --output TEXT   what wrangler versions upload printed (its "Worker Version ID" line)
  --smoke URL     the environment's URL, for npm run smoke's checks
  --steps LIST    percentages, increasing, ending at 100 (default 10,50,100)
  --wait SECONDS  before each step's checks (default 300)

Environment: SMOKE_PARTNER_KEY (a partner of that environment), and CLOUDFLARE_API_TOKEN and
CLOUDFLARE_ACCOUNT_ID for wrangler.`

/** `10,50,100` -> [10, 50, 100]: whole percentages, increasing, ending at 100. */
export function parseSteps(list: string): number[] {
  const steps = list.split(',').map((p) => integer('--steps', p, 1, 100))
  if (steps.some((p, i) => i > 0 && p <= (steps[i - 1] ?? 0)) || steps.at(-1) !== 100) {
    throw new UsageError(`--steps must increase and end at 100; got '${list}'`)
  }
  return steps
}

async function run(argv: string[]): Promise<boolean> {
  const { values } = readArgs(
    {
      name: 'npm run rollout',
      help: HELP,
      options: {
        env: { type: 'string' },
        output: { type: 'string' },
        smoke: { type: 'string' },
        steps: { type: 'string', default: '10,50,100' },
        wait: { type: 'string', default: '300' },
      },
    },
    argv,
  )
  const required = (name: 'env' | 'output' | 'smoke') => {
    const value = values[name]
    if (value === undefined) throw new UsageError(`--${name} is required`)
    return value
  }
  const env = oneOf('--env', required('env'), environments())
  const output = required('output')
  const smokeUrl = readUrl('--smoke', required('smoke'))
  const steps = parseSteps(values.steps)
  const waitMs = integer('--wait', values.wait, 0, 3600) * 1000
  const key = process.env.SMOKE_PARTNER_KEY
  if (!key) throw new UsageError('SMOKE_PARTNER_KEY must hold a partner key of that environment')
  let next: string
  try {
    next = uploadedVersion(output)
  } catch (err) {
    throw new UsageError(`--output: ${(err as Error).message}`)
  }
  argumentsChecked('npm run rollout')
  progress(`reading the current deployment of '${env}' through wrangler…`)
  const previous = currentVersion(wrangler(['deployments', 'status', '--env', env, '--json']))
  return rollout(
    { env, next, previous, steps },
    (args) => {
      progress(`wrangler ${args.slice(0, 4).join(' ')}…`)
      return wrangler(args)
    },
    () => smoke(smokeUrl, key),
    () => {
      progress(`waiting ${waitMs / 1000} s before the smoke checks…`)
      return new Promise((resolve) => setTimeout(resolve, waitMs))
    },
    (line) => console.log(line),
  )
}

if (isMain(import.meta.url)) {
  await main('npm run rollout', async () => {
    if (!(await run(process.argv.slice(2)))) throw new CommandError('the rollout was rolled back')
  })
}
