// `npm run rollout -- --env production --output <versions upload output> --steps 10,50,100
//   --wait 300 --smoke <base URL>`: a gradual deployment of the version `wrangler versions upload`
// just made. At each step the new version takes that share of traffic beside the one deployed
// before; after `--wait` seconds the smoke checks run, and if any fails the old version is put
// back at 100 % and the rollout stops (non-zero exit). Needs CLOUDFLARE_API_TOKEN and
// CLOUDFLARE_ACCOUNT_ID, and SMOKE_PARTNER_KEY for the checks.
import { pathToFileURL } from 'node:url'
import { smoke } from './smoke'
import { wrangler } from './wrangler'

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

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2)
  const flag = (name: string) => args[args.indexOf(name) + 1] ?? ''
  const env = flag('--env')
  const plan: RolloutPlan = {
    env,
    next: uploadedVersion(flag('--output')),
    previous: currentVersion(wrangler(['deployments', 'status', '--env', env, '--json'])),
    steps: flag('--steps').split(',').map(Number),
  }
  const waitMs = Number(flag('--wait')) * 1000
  const ok = await rollout(
    plan,
    wrangler,
    () => smoke(flag('--smoke'), process.env.SMOKE_PARTNER_KEY ?? ''),
    () => new Promise((resolve) => setTimeout(resolve, waitMs)),
    (line) => console.log(line),
  )
  process.exit(ok ? 0 : 1)
}
