// A throwaway copy of the project to run commands in exactly as a user types them (`npm run
// partners -- create acme`), with its own `.wrangler/state`, its own `.dev.vars`, and optionally a
// stand-in `wrangler` where npm puts the real one (first on PATH under `npm run`).
import { spawn } from 'node:child_process'
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')
/** Linked, not copied: read-only for every command the tests run. */
const LINKED = ['src', 'scripts', 'simulator', 'public', 'openapi', 'bench', 'docs', 'test']
/** Copied: a command may read them relative to its own directory. */
const COPIED = ['package.json', 'wrangler.toml', 'tsconfig.json', 'README.md', 'vitest.config.ts']

/** Our own npm scripts (`tsx` or `node` running a file of ours), less npm's pre/post hooks. */
export function ourScripts(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>
  }
  return Object.entries(pkg.scripts)
    .filter(([name, run]) => /^(tsx|node) [\w/.-]+$/.test(run) && !/^(pre|post)/.test(name))
    .map(([name]) => name)
}

export const STAND_IN_WRANGLER = join(ROOT, 'test/e2e/stand-in/wrangler.mjs')

export interface Result {
  code: number | null
  stdout: string
  stderr: string
}

export interface Project {
  dir: string
  /** Runs a shell command line in the project, as a user's shell would, to its end. */
  sh(command: string, env?: Record<string, string>): Promise<Result>
  close(): void
}

/** The environment a user's shell would give a command, less any credential or worker setting. */
export function userEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) =>
        !/^(CLOUDFLARE_|OPENAI_|PARTNER_KEY_SECRET$|OPERATOR_KEY$|SMOKE_|WRANGLER_LOG$|npm_|GATEWAY_KEY$|PORT$|SIM_)/.test(
          name,
        ),
    ),
  )
  // A user's shell has no project's node_modules/.bin on PATH: `npm run` adds the project's own.
  const path = (process.env.PATH ?? '')
    .split(':')
    .filter((dir) => !dir.includes('node_modules'))
    .join(':')
  return {
    ...env,
    PATH: path,
    WRANGLER_SEND_METRICS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    ...extra,
  }
}

/** A copy of the project; `wrangler` there is the stand-in when `standInWrangler` is set. */
export function project({ standInWrangler = false } = {}): Project {
  const dir = mkdtempSync(join(tmpdir(), 'groups-gateway-project-'))
  for (const name of LINKED) symlinkSync(join(ROOT, name), join(dir, name))
  for (const name of COPIED) copyFileSync(join(ROOT, name), join(dir, name))
  const modules = join(ROOT, 'node_modules')
  mkdirSync(join(dir, 'node_modules/.bin'), { recursive: true })
  for (const name of readdirSync(modules)) {
    if (name !== '.bin') symlinkSync(join(modules, name), join(dir, 'node_modules', name))
  }
  for (const name of readdirSync(join(modules, '.bin'))) {
    const target =
      name === 'wrangler' && standInWrangler ? STAND_IN_WRANGLER : join(modules, '.bin', name)
    symlinkSync(target, join(dir, 'node_modules/.bin', name))
  }
  return {
    dir,
    sh: (command, env = {}) => sh(command, dir, userEnv(env)),
    close: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** `bash -c command` in `cwd`, its output collected. */
export function sh(
  command: string,
  cwd: string,
  env: Record<string, string | undefined>,
): Promise<Result> {
  return new Promise((done, fail) => {
    const child = spawn('bash', ['-c', command], {
      cwd,
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    child.on('error', fail)
    child.on('close', (code) => done({ code, stdout, stderr }))
  })
}

/** Writes a file in the project (a `.dev.vars`, a fixture). */
export function writeIn(p: Project, name: string, text: string): void {
  writeFileSync(join(p.dir, name), text)
}

/** A port nobody listens on now, on loopback. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer()
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => done(port))
    })
  })
}
