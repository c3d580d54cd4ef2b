// A gradual deployment's steps, smoke-checked at each one; `npm run release` runs it.
import { integer, UsageError } from './cli'

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

/** `10,50,100` -> [10, 50, 100]: whole percentages, increasing, ending at 100. */
export function parseSteps(list: string): number[] {
  const steps = list.split(',').map((p) => integer('--steps', p, 1, 100))
  if (steps.some((p, i) => i > 0 && p <= (steps[i - 1] ?? 0)) || steps.at(-1) !== 100) {
    throw new UsageError(`--steps must increase and end at 100; got '${list}'`)
  }
  return steps
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
