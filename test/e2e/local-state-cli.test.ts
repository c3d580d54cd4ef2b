// `npm run partners` and `npm run cache` spawned through npm with the README's arguments, in a copy
// of the project with its own local state; then a worker (`wrangler dev` on that state) shows that
// what they wrote is what it serves.
import type { ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { startWranglerDev } from '../../scripts/wrangler'
import { freePort, type Project, project } from './project'

let p: Project
let worker: ChildProcess
let gateway: string

beforeAll(async () => {
  p = project()
  const port = await freePort()
  worker = startWranglerDev(
    port,
    inject('simulatorUrl'),
    ['--persist-to', `${p.dir}/.wrangler/state`, '--inspector-port', String(await freePort())],
    { detached: true, stdio: 'ignore' },
  )
  gateway = `http://127.0.0.1:${port}`
  await vi.waitFor(
    async () => {
      if (!(await fetch(`${gateway}/healthz`)).ok) throw new Error('not up')
    },
    { timeout: 60_000, interval: 250 },
  )
}, 90_000)

afterAll(() => {
  if (worker.pid && worker.exitCode === null) process.kill(-worker.pid, 'SIGTERM')
  p.close()
})

const partners = (args: string) => p.sh(`npm run -s partners -- ${args}`)
const keyOf = (stdout: string) => stdout.trim().split('\n').at(-1) ?? ''
const page = (key: string) =>
  fetch(`${gateway}/v1/organization/groups?limit=1`, {
    headers: { authorization: `Bearer ${key}` },
  })

describe('npm run partners, spawned as the README writes it, against local state', () => {
  it('create prints a key on its last line that the worker reading that state accepts', async () => {
    const { code, stdout, stderr } = await p.sh('npm run partners -- create acme')
    expect(code).toBe(0)
    // What it waits on, on stderr, so a pipe of stdout (`| tail -1`) gets the key alone.
    expect(stderr).toMatch(/^opening PARTNERS in local state \(.*\.wrangler\/state\)…\n$/)
    expect(stdout).toMatch(
      /created partner 'acme' \(tier standard\) in local state \(.*\.wrangler\/state\)/,
    )
    const key = keyOf(stdout)
    expect(key).toMatch(/^gwp_[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/)
    expect((await page(key)).status).toBe(200)
  })

  it("the README's KEY=$(... | tail -1) recipe leaves the new key in KEY", async () => {
    const { code, stdout } = await p.sh(
      'KEY=$(npm run -s partners -- create recipe | tail -1) && echo "key=$KEY"',
    )
    expect(code).toBe(0)
    expect(stdout.trim()).toMatch(/^key=gwp_[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/)
  })

  it.each(['restricted', 'standard', 'elevated'])(
    'create --tier %s gives the partner that tier, as the worker applies it',
    async (tier) => {
      const { code, stdout } = await partners(`create tier-${tier} --tier ${tier}`)
      expect(code).toBe(0)
      const res = await page(keyOf(stdout))
      expect(res.status).toBe(200)
      expect(res.headers.get('ratelimit-policy')).toMatch(new RegExp(`^"${tier}";`))
    },
  )

  it('set-tier moves a partner to another tier, as the worker applies it', async () => {
    const key = keyOf((await partners('create mover')).stdout)
    const { code, stdout } = await partners('set-tier mover elevated')
    expect(code).toBe(0)
    expect(stdout).toMatch(/^partner 'mover' is now on tier elevated in local state/)
    expect((await page(key)).headers.get('ratelimit-policy')).toMatch(/^"elevated";/)
  })

  it('rotate: the worker accepts the new key and refuses the old one', async () => {
    const old = keyOf((await partners('create rotor --tier restricted')).stdout)
    const { code, stdout } = await partners('rotate rotor')
    expect(code).toBe(0)
    expect(stdout).toMatch(/rotated the key of partner 'rotor' \(tier restricted\)/)
    const fresh = keyOf(stdout)
    expect(fresh).not.toBe(old)
    expect((await page(old)).status).toBe(401)
    const res = await page(fresh)
    expect(res.status).toBe(200)
    expect(res.headers.get('ratelimit-policy')).toMatch(/^"restricted";/)
  })

  it('revoke: the worker refuses the key', async () => {
    const key = keyOf((await partners('create gone')).stdout)
    const { code, stdout } = await partners('revoke gone')
    expect(code).toBe(0)
    expect(stdout).toMatch(/^revoked partner 'gone' in local state/)
    expect((await page(key)).status).toBe(401)
  })

  it('disable refuses a key and enable accepts one again, at the worker', async () => {
    const off = keyOf((await partners('create off')).stdout)
    const on = keyOf((await partners('create on --disabled')).stdout)
    expect((await partners('disable off')).stdout).toMatch(/^disabled partner 'off'/)
    expect((await partners('enable on')).stdout).toMatch(/^enabled partner 'on'/)
    expect((await page(off)).status).toBe(401)
    expect((await page(on)).status).toBe(200)
  })

  it('list prints a header row and each partner; --json the same as JSON; never a key', async () => {
    await partners('create listed --tier elevated')
    const table = await partners('list')
    expect(table.code).toBe(0)
    const lines = table.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^NAME\s+CREATED\s+TIER\s+STATUS\s+KEY DIGEST$/)
    expect(lines.find((l) => l.startsWith('listed '))).toMatch(
      /^listed\s+\S+Z\s+elevated\s+active\s+[0-9a-f]{8}…$/,
    )
    const json = await partners('list --json')
    const rows = JSON.parse(json.stdout) as Record<string, string>[]
    expect(rows.find((r) => r.name === 'listed')).toMatchObject({
      tier: 'elevated',
      status: 'active',
    })
    expect(`${table.stdout}${json.stdout}`).not.toMatch(/gwp_/)
  })

  it.concurrent.for([
    {
      what: 'an unknown partner',
      args: 'rotate nobody',
      exit: 1,
      message: "no partner named 'nobody'",
    },
    {
      what: 'an unknown tier',
      args: 'create bad --tier platinum',
      exit: 2,
      message: "--tier must be one of restricted, standard, elevated; got 'platinum'",
    },
    { what: 'a missing name', args: 'create', exit: 2, message: 'create needs a partner name' },
    { what: 'a bad name', args: 'create Bad!', exit: 2, message: 'the name must be' },
    {
      what: 'an unknown command',
      args: 'frob',
      exit: 2,
      message: 'the command must be one of create, rotate',
    },
    {
      what: 'an unknown flag',
      args: 'list --verbose',
      exit: 2,
      message: 'unknown option --verbose',
    },
    {
      what: 'a flag without its value',
      args: 'create x --tier',
      exit: 2,
      message: '--tier needs a value',
    },
    {
      what: '--env without --remote',
      args: 'create x --env staging',
      exit: 2,
      message: '--env names a deployed environment',
    },
    {
      what: '--remote without --env',
      args: 'list --remote',
      exit: 2,
      message: '--remote needs --env (staging or production)',
    },
    {
      what: 'an unknown environment',
      args: 'list --remote --env prod',
      exit: 2,
      message: "--env must be one of staging, production; got 'prod'",
    },
    {
      what: 'a missing tier',
      args: 'set-tier acme',
      exit: 2,
      message: 'set-tier needs a partner name and a tier',
    },
  ])('refuses $what with one line on stderr and exit $exit', async ({ args, exit, message }) => {
    const { code, stdout, stderr } = await partners(args)
    expect(code).toBe(exit)
    expect(stdout).toBe('')
    // One line says what is wrong; before it at most the progress line of what it opened.
    const said = stderr
      .trim()
      .split('\n')
      .filter((line) => !line.endsWith('…'))
    expect(said).toHaveLength(1)
    expect(said[0]).toContain(`npm run partners: ${message}`)
  })

  it('refuses a duplicate name with exit 1 and keeps the first key working', async () => {
    const key = keyOf((await partners('create twin')).stdout)
    const { code, stderr } = await partners('create twin')
    expect(code).toBe(1)
    expect(stderr.trim().split('\n').at(-1)).toBe(
      "npm run partners: a partner named 'twin' exists: rotate its key, or revoke it",
    )
    expect((await page(key)).status).toBe(200)
  })

  it('--help prints the usage and exits 0, touching nothing', async () => {
    const { code, stdout } = await partners('--help')
    expect(code).toBe(0)
    expect(stdout).toMatch(/^usage: npm run partners -- <command> \[options\]/)
    expect(stdout).toMatch(/--remote --env ENV/)
  })
})

describe('npm run cache -- purge, spawned, against local state', () => {
  it('makes the running worker fetch a cached page anew', async () => {
    const key = keyOf((await partners('create purger')).stdout)
    const url = `${gateway}/v1/organization/groups?limit=3&order=desc`
    const get = () => fetch(url, { headers: { authorization: `Bearer ${key}` } })
    await get()
    expect((await get()).headers.get('cache-status')).toMatch(/; hit/)
    const { code, stdout } = await p.sh('npm run -s cache -- purge')
    expect(code).toBe(0)
    expect(stdout).toMatch(
      /^purged local state \(.*\.wrangler\/state\): the cache generation is now \S+\. A running wrangler dev applies it within 10 s/,
    )
    // The isolate re-reads the generation every 10 s: poll the worker until it has.
    await vi.waitFor(
      async () => expect((await get()).headers.get('cache-status')).toMatch(/fwd=uri-miss/),
      { timeout: 15_000, interval: 500 },
    )
  })

  it('refuses --env without a value instead of purging local state', async () => {
    const { code, stdout, stderr } = await p.sh('npm run -s cache -- purge --env')
    expect(code).toBe(2)
    expect(stdout).toBe('')
    expect(stderr.trim()).toBe('npm run cache: --env needs a value (see npm run cache -- --help)')
  })
})
