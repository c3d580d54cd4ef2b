// How the project's scripts run the pinned wrangler: under the Node that runs them (Node 24 via
// npm scripts), never talking to anything but loopback.
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { SIMULATOR_ADMIN_KEY } from '../simulator/upstream'

export const WRANGLER = join(
  dirname(createRequire(import.meta.url).resolve('wrangler/package.json')),
  'bin/wrangler.js',
)

export const OFFLINE_ENV = { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' }

/** Runs a wrangler command to completion and returns its stdout; throws with its output if it fails. */
export function wrangler(args: string[]): string {
  const result = spawnSync(process.execPath, [WRANGLER, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...OFFLINE_ENV },
  })
  if (result.status !== 0) {
    throw new Error(
      `wrangler ${args.slice(0, 3).join(' ')} failed:\n${result.stderr || result.stdout}`,
    )
  }
  return result.stdout
}

/**
 * `wrangler dev` on 127.0.0.1 against the simulator at `upstreamBaseUrl`, with the simulator's
 * admin key as the required secret (wrangler takes it from the environment): never a real key.
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
      ...extraArgs,
    ],
    {
      ...options,
      env: { ...process.env, OPENAI_ADMIN_KEY: SIMULATOR_ADMIN_KEY, ...OFFLINE_ENV },
    },
  )
}
