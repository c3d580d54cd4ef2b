// The README's and docs/'s shell blocks, run in order as one shell session in a copy of the
// project, against the worker `npm start` runs there (on its documented ports): a command changed in
// code and not in its document fails here. See doctest.ts for how a block says how it is run.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type Block, blocks, documents, matches } from './doctest'
import { type Project, project, sh, userEnv } from './project'

const ROOT = resolve(import.meta.dirname, '../..')
const DOCUMENTS = documents(ROOT)
/** The ports the documents name: `npm start`'s worker and simulator, and a second worker. */
const PORTS = [8787, 9000, 8788]
/** What an operator would have set before running the account blocks (placeholders here). */
const ACCOUNT_ENV = {
  GATEWAY_CHECK_ARGS: '1',
  STAND_IN_WRANGLER_CHECK: '1',
  CLOUDFLARE_API_TOKEN: 'placeholder-token',
  CLOUDFLARE_ACCOUNT_ID: 'placeholder-account',
  STAGING_URL: 'https://groups-gateway-staging.example.workers.dev',
  PRODUCTION_URL: 'https://groups-gateway-production.example.workers.dev',
  STAGING_PARTNER_KEY: `gwp_${'s'.repeat(43)}`,
  PRODUCTION_PARTNER_KEY: `gwp_${'p'.repeat(43)}`,
  NEW_ADMIN_KEY: 'sk-admin-placeholder-new-key',
  PREVIOUS_VERSION_ID: '11111111-1111-4111-8111-111111111111',
  STAGING_PARTNER_KEY_SECRET: 'placeholder-secret-of-staging-at-least-32-chars',
  PRODUCTION_PARTNER_KEY_SECRET: 'placeholder-secret-of-production-at-least-32-chars',
}

let p: Project
const servers: ChildProcess[] = []
let session: string

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer()
    server.once('error', () => done(false))
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)))
  })
}

/** Waits until `url` answers 200; fails at once if the server exits first. */
async function ready(url: string, child: ChildProcess, output: () => string) {
  const exited = new Promise<never>((_, fail) =>
    child.once('exit', () => fail(new Error(`exited before ${url} answered:\n${output()}`))),
  )
  const answered = vi.waitFor(
    async () => {
      const res = await fetch(url)
      if (!res.ok) throw new Error(`${url} -> ${res.status}`)
    },
    { timeout: 60_000, interval: 250 },
  )
  await Promise.race([answered, exited])
}

/** Starts `command` in the session as a server of its own process group. */
async function background(command: string, url: string, env: Record<string, string> = {}) {
  const child = spawn('bash', ['-c', preamble(command)], {
    cwd: p.dir,
    env: userEnv(env) as NodeJS.ProcessEnv,
    detached: true,
  })
  servers.push(child)
  let output = ''
  child.stdout?.on('data', (d) => {
    output += d
  })
  child.stderr?.on('data', (d) => {
    output += d
  })
  await ready(url, child, () => output)
}

/** The block, inside the session: the directory and exports the blocks before it left. */
function preamble(code: string, save = false): string {
  return [
    `cd "$(cat ${session}/cwd)"`,
    `source ${session}/env`,
    save ? `trap 'export -p > ${session}/env; pwd > ${session}/cwd' EXIT` : '',
    'set -eo pipefail',
    code,
  ].join('\n')
}

/** Runs a block in the session; an account block's placeholders never reach the blocks after it. */
const run = (code: string, account: boolean) =>
  sh(preamble(code, !account), p.dir, userEnv(account ? ACCOUNT_ENV : {}))

beforeAll(async () => {
  const busy = (await Promise.all(PORTS.map(portFree))).flatMap((free, i) =>
    free ? [] : [PORTS[i]],
  )
  if (busy.length) {
    throw new Error(
      `the documents' ports ${busy.join(', ')} are in use: stop what listens there (an npm start?)`,
    )
  }
  p = project({ standInWrangler: true })
  session = join(p.dir, '.doctest')
  mkdirSync(session)
  // A clone has its history: the runbook's commands name the commit they ship.
  writeFileSync(join(p.dir, '.gitignore'), 'node_modules/\n.wrangler/\n.doctest/\n')
  for (const args of [
    ['init', '-q'],
    ['add', '-A'],
    ['commit', '-qm', 'docs under test'],
  ]) {
    execFileSync('git', ['-c', 'user.email=ci@example.com', '-c', 'user.name=ci', ...args], {
      cwd: p.dir,
    })
  }
  writeFileSync(join(session, 'cwd'), p.dir)
  writeFileSync(join(session, 'env'), '')
  // The one command the documents start with, run as written: the rest run against it.
  await background('npm start', 'http://127.0.0.1:8787/healthz')
}, 120_000)

afterAll(() => {
  for (const child of servers) {
    if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM')
  }
  p?.close()
})

/** `npm i -E [-D] name@version ...`: every pin must be package.json's own. */
function checkPins(code: string): void {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>
    devDependencies: Record<string, string>
  }
  const pinned = { ...pkg.dependencies, ...pkg.devDependencies }
  const lines = code.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'))
  for (const line of lines) {
    expect(line).toMatch(/^npm i -E (-D )?/)
    for (const spec of line.replace(/#.*/, '').trim().split(/\s+/).slice(2)) {
      if (spec.startsWith('-')) continue
      const at = spec.lastIndexOf('@')
      expect(`${spec.slice(0, at)}@${pinned[spec.slice(0, at)]}`).toBe(spec)
    }
  }
}

function describeBlock(block: Block): string {
  const first = block.code.split('\n')[0]?.slice(0, 60)
  switch (block.mode.kind) {
    case 'skip':
      return `is not run (${block.mode.reason})`
    case 'account':
      return `parses: every command exists and takes its flags (\`${first}\`…)`
    case 'registry':
      return "pins exactly the versions package.json pins (the project's modules stand in)"
    case 'background':
      return `starts a server that answers ${block.mode.ready}`
    case 'file':
      return `is written to ${block.mode.name}`
    default:
      return block.expected === undefined
        ? `runs as written (\`${first}\`…)`
        : `runs as written and prints what the document shows (\`${first}\`…)`
  }
}

for (const document of DOCUMENTS) {
  // How many blocks there are, and why some are not run: test/node/docs.test.ts.
  const found = blocks(readFileSync(join(ROOT, document), 'utf8')).filter(
    (block) => block.mode.kind !== 'skip',
  )
  if (found.length === 0) continue
  describe(document, () => {
    for (const block of found) {
      const name = `${document}:${block.line} ${describeBlock(block)}`
      it(name, async () => {
        const mode = block.mode
        if (mode.kind === 'file') {
          const cwd = readFileSync(join(session, 'cwd'), 'utf8').trim()
          writeFileSync(join(cwd, mode.name), `${block.code}\n`)
          return
        }
        if (mode.kind === 'registry') {
          checkPins(block.code)
          const cwd = readFileSync(join(session, 'cwd'), 'utf8').trim()
          if (!existsSync(join(cwd, 'node_modules'))) {
            symlinkSync(join(ROOT, 'node_modules'), join(cwd, 'node_modules'))
          }
          return
        }
        if (mode.kind === 'background') {
          await background(block.code, mode.ready)
          return
        }
        const result = await run(block.code, mode.kind === 'account')
        expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0)
        if (block.expected !== undefined) {
          expect(
            matches(block.expected, result.stdout),
            `expected:\n${block.expected}\n\ngot:\n${result.stdout}\n\nstderr:\n${result.stderr}`,
          ).toBe(true)
        }
      }, 90_000)
    }
  })
}
