// How the project's scripts run the pinned wrangler: under the Node that runs them (Node 24 via
// npm scripts), never talking to anything but loopback.
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { SIMULATOR_ADMIN_KEY } from '../simulator/upstream'
import { oneOf, UsageError } from './cli'
import { DEV_PARTNER_KEY_SECRET } from './dev-partner'

export const WRANGLER = join(
  dirname(createRequire(import.meta.url).resolve('wrangler/package.json')),
  'bin/wrangler.js',
)

/** The environments wrangler.toml declares (`[env.staging]`, ...), in the project npm runs in. */
export function environments(config = 'wrangler.toml'): string[] {
  const toml = readFileSync(config, 'utf8')
  return [...new Set([...toml.matchAll(/^\[env\.([\w-]+)\]/gm)].map((m) => m[1] as string))]
}

/** The `--env` value, which must name an `[env.*]` table of wrangler.toml. */
export function readEnvironment(value: string | undefined): string {
  if (value === undefined) throw new UsageError('--env is required')
  return oneOf('--env', value, environments())
}

/** An environment's Worker name, as wrangler names it: the top-level `name`, then `-<env>`. */
export function workerName(env: string, config = 'wrangler.toml'): string {
  const name = /^name\s*=\s*"([^"]+)"/m.exec(readFileSync(config, 'utf8'))?.[1]
  if (!name) throw new Error(`no name in ${config}`)
  return `${name}-${env}`
}

/** KV's typical propagation delay; its documentation says "up to 60 seconds or more". */
export const KV_PROPAGATION_SECONDS = 60

/**
 * When a change written to KV reaches every location: the caches in front of it, then KV's own
 * propagation. Returns the bound and the sentence the CLIs print.
 */
export function propagationBound(caches: [label: string, seconds: number][]) {
  const parts: [string, number][] = [...caches, ['KV propagation', KV_PROPAGATION_SECONDS]]
  const seconds = parts.reduce((sum, [, s]) => sum + s, 0)
  const detail = parts.map(([label, s]) => `${label} ${s} s`).join(' + ')
  return {
    seconds,
    sentence: `It is typically seen everywhere within ${seconds} s (${detail}); KV propagation is "up to 60 seconds or more", so that is not a promise.`,
  }
}

export const OFFLINE_ENV = { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' }

/**
 * Runs a wrangler command to completion and returns its stdout. It is the `wrangler` on PATH: under
 * `npm run`, the project's pinned one (node_modules/.bin comes first). A failure throws one line:
 * wrangler's own `✘ [ERROR]` message when it printed one.
 */
export function wrangler(args: string[], input?: string): string {
  const result = spawnSync('wrangler', args, {
    input,
    encoding: 'utf8',
    env: { ...process.env, ...OFFLINE_ENV },
  })
  if (result.error) throw new Error(`wrangler could not be started: ${result.error.message}`)
  if (result.status !== 0) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: wrangler colours its errors even in a pipe
    const output = `${result.stderr}\n${result.stdout}`.replace(/\x1b\[[0-9;]*m/g, '')
    const reason = /\[ERROR\]\s*(.+)/.exec(output)?.[1] ?? output.trim().split('\n').at(-1) ?? ''
    throw new Error(`wrangler ${args.slice(0, 3).join(' ')} failed: ${reason.trim()}`)
  }
  return result.stdout
}

/** The worker's own settings: none of them may come from the operator's shell into a local run. */
const WORKER_SETTING =
  /^(OPENAI_|CACHE_|UPSTREAM_|MEMORY_CACHE_|PREWARM_|CORS_ALLOWED_ORIGINS$|OPERATOR_KEY$|PARTNER_KEY_SECRET$)/

/**
 * An environment for a local `wrangler dev` that sees no setting or secret of the operator's: the
 * shell's worker settings are dropped, and `--env-file` keeps wrangler
 * from reading `.dev.vars`, where an operator may keep a real admin key.
 */
export function hermeticEnv(secrets: Record<string, string>): Record<string, string | undefined> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !WORKER_SETTING.test(name)),
  )
  return { ...env, ...OFFLINE_ENV, CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV: 'true', ...secrets }
}

/**
 * An empty env file inside the project's own ignored `.wrangler/`: given with `--env-file`,
 * wrangler reads it instead of `.dev.vars`.
 */
function emptyEnvFile(): string {
  mkdirSync('.wrangler', { recursive: true })
  const file = join('.wrangler', 'hermetic.env')
  writeFileSync(file, '# Local runs take no secret from a file: see scripts/wrangler.ts\n')
  return file
}

/**
 * `wrangler dev` on 127.0.0.1 against the simulator at `upstreamBaseUrl`, with the simulator's
 * admin key as the required secret (wrangler takes it from the environment): never a real key,
 * whatever `.dev.vars` or the shell holds.
 */
export function startWranglerDev(
  port: number | string,
  upstreamBaseUrl: string,
  extraArgs: string[],
  options: SpawnOptions = {},
): ChildProcess {
  return spawn(
    process.execPath,
    [
      WRANGLER,
      'dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--var',
      `OPENAI_BASE_URL:${upstreamBaseUrl}`,
      '--env-file',
      emptyEnvFile(),
      ...extraArgs,
    ],
    {
      ...options,
      env: hermeticEnv({
        OPENAI_ADMIN_KEY: SIMULATOR_ADMIN_KEY,
        PARTNER_KEY_SECRET: DEV_PARTNER_KEY_SECRET,
      }) as NodeJS.ProcessEnv,
    },
  )
}
