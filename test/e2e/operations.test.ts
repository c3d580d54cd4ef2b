// The operator's scripts spawned through npm as the README and runbook write them: `deploy` and
// remote `partners` against a stand-in `wrangler` (where npm finds the real one) that records its
// arguments and prints wrangler's own output formats; `smoke` against the running gateway;
// `usage` against a stand-in for the Analytics Engine SQL API answering a recorded JSON.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import recorded from '../fixtures/usage-answer.json'
import { ourScripts, type Project, project, writeIn } from './project'

let p: Project
beforeAll(() => {
  p = project({ standInWrangler: true })
})
afterAll(() => p.close())

const standIn = (name: string) => ({
  STAND_IN_WRANGLER_LOG: join(p.dir, `${name}-runs.jsonl`),
  STAND_IN_WRANGLER_STATE: join(p.dir, `${name}-state.json`),
})
const runsOf = (name: string): string[][] => {
  const log = join(p.dir, `${name}-runs.jsonl`)
  return existsSync(log)
    ? readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as string[])
    : []
}

/**
 * A gateway with two versions, as a gradual deployment has: a request pinned to a version with
 * `Cloudflare-Workers-Version-Overrides` reaches that one, any other the old one. `broken` versions
 * answer 500. It records which version each request was pinned to.
 */
async function gatewayOfVersions(broken: string[]) {
  const pinned: (string | null)[] = []
  const server = createServer((req, res) => {
    const header = req.headers['cloudflare-workers-version-overrides']
    const version = typeof header === 'string' ? (/="([^"]+)"/.exec(header)?.[1] ?? null) : null
    pinned.push(version)
    if (version !== null && broken.includes(version)) return res.writeHead(500).end('{}')
    const body = req.url === '/healthz' ? { status: 'ok' } : { object: 'list', data: [] }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  return { url, pinned, close: () => server.close() }
}

/** A git history in the project copy: one commit per step, each changing wrangler.toml as given. */
function commit(message: string, change: (toml: string) => string = (t) => t): string {
  const toml = join(p.dir, 'wrangler.toml')
  writeFileSync(toml, change(readFileSync(toml, 'utf8')))
  writeFileSync(join(p.dir, 'CHANGES'), `${message}\n`, { flag: 'a' })
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.email=ci@example.com', '-c', 'user.name=ci', ...args], {
      cwd: p.dir,
      encoding: 'utf8',
    }).trim()
  if (!existsSync(join(p.dir, '.git'))) {
    git('init', '-q')
    writeFileSync(join(p.dir, '.gitignore'), 'node_modules/\n.wrangler/\n*.jsonl\n*-state.json\n')
  }
  git('add', '-A')
  git('commit', '-qm', message)
  return git('rev-parse', 'HEAD')
}

const OLD = '11111111-1111-4111-8111-111111111111'

/** An account whose production Worker serves OLD, uploaded for commit `liveSha`, at 100 %. */
function liveAt(name: string, liveSha: string) {
  writeIn(
    p,
    `${name}-state.json`,
    JSON.stringify({
      workers: {
        'groups-gateway-production': {
          versions: [{ id: OLD, tag: liveSha, message: liveSha }],
          deployments: [{ id: 'd-1', versions: [{ version_id: OLD, percentage: 100 }] }],
        },
      },
    }),
  )
}

describe('npm run deploy, through a stand-in wrangler', () => {
  const deploy = (name: string, args: string) =>
    p.sh(`npm run -s deploy -- ${args}`, { ...standIn(name), SMOKE_PARTNER_KEY: 'gwp_smoke' })
  /** The new version the stand-in made: the one every smoke request had to be pinned to. */
  const madeVersion = (name: string) =>
    (
      JSON.parse(readFileSync(join(p.dir, `${name}-state.json`), 'utf8')) as {
        workers: Record<string, { versions: { id: string }[] }>
      }
    ).workers['groups-gateway-production']?.versions.at(-1)?.id ?? ''
  let gateway: Awaited<ReturnType<typeof gatewayOfVersions>>
  afterEach(() => gateway?.close())

  it("deploys an environment's first version whole, then smoke-checks that version", async () => {
    gateway = await gatewayOfVersions([])
    const sha = commit('first')
    const { code, stdout } = await deploy(
      'first',
      `--env production --sha ${sha} --smoke ${gateway.url}`,
    )
    expect(code, stdout).toBe(0)
    expect(runsOf('first')).toEqual([
      ['deployments', 'status', '--env', 'production', '--json'],
      ['deploy', '--env', 'production', '--minify'],
    ])
    expect(stdout).toMatch(/deploying \w+ to production whole: it has no deployment yet/)
    expect(gateway.pinned).toEqual([madeVersion('first'), madeVersion('first')])
  })

  it('rolls a cron change out gradually, every check pinned to the new version, then applies the triggers', async () => {
    const live = commit('live')
    const sha = commit('a cron change', (t) =>
      t.replace('crons = ["* * * * *"]', 'crons = ["*/2 * * * *"]'),
    )
    liveAt('gradual', live)
    gateway = await gatewayOfVersions([])
    const { code, stdout } = await deploy(
      'gradual',
      `--env production --sha ${sha} --smoke ${gateway.url} --wait 0`,
    )
    expect(code, stdout).toBe(0)
    const next = madeVersion('gradual')
    const step = (pct: number, split: string[]) => [
      'versions',
      'deploy',
      ...split,
      '--env',
      'production',
      '--yes',
      '--message',
      `rollout ${pct}%`,
    ]
    expect(runsOf('gradual')).toEqual([
      ['deployments', 'status', '--env', 'production', '--json'],
      ['versions', 'view', OLD, '--env', 'production', '--json'],
      ['versions', 'upload', '--env', 'production', '--minify', '--tag', sha, '--message', sha],
      step(10, [`${next}@10%`, `${OLD}@90%`]),
      step(50, [`${next}@50%`, `${OLD}@50%`]),
      step(100, [`${next}@100%`]),
      ['triggers', 'deploy', '--env', 'production'],
    ])
    expect(gateway.pinned).toHaveLength(6)
    expect(new Set(gateway.pinned)).toEqual(new Set([next]))
  })

  it('rolls back at the first step when the new version fails its pinned check, though the old one answers right', async () => {
    const live = commit('live again')
    const sha = commit('a broken change')
    liveAt('rollback', live)
    // The stand-in will name the uploaded version after the one it already holds.
    gateway = await gatewayOfVersions(['00000002-0000-4000-8000-000000000102'])
    const { code, stdout, stderr } = await deploy(
      'rollback',
      `--env production --sha ${sha} --smoke ${gateway.url} --wait 0`,
    )
    const next = madeVersion('rollback')
    expect(next).toBe('00000002-0000-4000-8000-000000000102')
    expect(code).toBe(1)
    expect(stdout).toMatch(/^FAIL GET \/healthz -> 500$/m)
    expect(stderr).toMatch(`npm run deploy: ${next} failed its smoke check and was rolled back`)
    expect(runsOf('rollback').map((a) => a.slice(0, 3))).toEqual([
      ['deployments', 'status', '--env'],
      ['versions', 'view', OLD],
      ['versions', 'upload', '--env'],
      ['versions', 'deploy', `${next}@10%`],
      ['versions', 'deploy', `${OLD}@100%`],
    ])
    // Unpinned, the same gateway answers right: a check at 10 % without the pin would have passed.
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200)
  })

  it('deploys whole when any commit since the live one changes a Durable Object migration', async () => {
    const live = commit('live before the migration')
    commit(
      'adds a Durable Object class',
      (t) => `${t}\n[[migrations]]\ntag = "v9"\nnew_sqlite_classes = ["Audit"]\n`,
    )
    const sha = commit('an unrelated change after it')
    liveAt('migration', live)
    gateway = await gatewayOfVersions([])
    const { code, stdout } = await deploy(
      'migration',
      `--env production --sha ${sha} --smoke ${gateway.url}`,
    )
    expect(code, stdout).toBe(0)
    expect(stdout).toMatch(`whole: a Durable Object migration since ${live}`)
    expect(runsOf('migration')).toEqual([
      ['deployments', 'status', '--env', 'production', '--json'],
      ['versions', 'view', OLD, '--env', 'production', '--json'],
      ['deploy', '--env', 'production', '--minify'],
    ])
  })

  it.concurrent.for([
    {
      what: 'a missing --env',
      args: '--sha abc1234 --smoke http://127.0.0.1:1',
      says: '--env is required',
    },
    {
      what: 'an unknown environment',
      args: '--env prod --sha abc1234 --smoke http://127.0.0.1:1',
      says: "--env must be one of staging, production; got 'prod'",
    },
    {
      what: 'a --sha that is not a commit',
      args: '--env production --sha HEAD --smoke http://127.0.0.1:1',
      says: "--sha must be a commit id (7-40 hex digits); got 'HEAD'",
    },
    {
      what: '--wait without a value',
      args: '--env production --sha abc1234 --smoke http://127.0.0.1:1 --wait',
      says: '--wait needs a value',
    },
    {
      what: 'a --wait that is not a number',
      args: '--env production --sha abc1234 --smoke http://127.0.0.1:1 --wait soon',
      says: "--wait must be a whole number from 0 to 3600; got 'soon'",
    },
    {
      what: 'steps that do not end at 100',
      args: '--env production --sha abc1234 --smoke http://127.0.0.1:1 --steps 10,50',
      says: "--steps must increase and end at 100; got '10,50'",
    },
    {
      what: 'a --smoke that is not a URL',
      args: '--env production --sha abc1234 --smoke staging',
      says: "--smoke must be an http(s) URL; got 'staging'",
    },
    { what: 'an unknown flag', args: '--env production --force', says: 'unknown option --force' },
  ])('refuses $what in one line, exit 2, running nothing', async ({ what, args, says }) => {
    const name = `bad-${what.replace(/\W+/g, '-')}`
    const { code, stderr } = await deploy(name, args)
    expect(code).toBe(2)
    expect(stderr.trim()).toBe(`npm run deploy: ${says} (see npm run deploy -- --help)`)
    expect(runsOf(name)).toEqual([])
  })
})

describe('npm run secret, through a stand-in wrangler', () => {
  const BAD = '33333333-3333-4333-8333-333333333333'
  const withVersions = (name: string, versions: string[], deployment: [string, number][]) =>
    writeIn(
      p,
      `${name}-state.json`,
      JSON.stringify({
        workers: {
          'groups-gateway-production': {
            versions: versions.map((id) => ({ id })),
            deployments: [
              {
                id: 'd-1',
                versions: deployment.map(([version_id, percentage]) => ({
                  version_id,
                  percentage,
                })),
              },
            ],
          },
        },
      }),
    )
  const secret = (name: string, stdin = 'printf %s sk-admin-new-key | ') =>
    p.sh(`${stdin}npm run -s secret -- put OPENAI_ADMIN_KEY --env production`, standIn(name))

  it('puts the secret on a new version of the live code and deploys it at 100 %', async () => {
    withVersions('rotate', [OLD], [[OLD, 100]])
    const { code, stdout } = await secret('rotate')
    expect(code, stdout).toBe(0)
    const state = JSON.parse(readFileSync(join(p.dir, 'rotate-state.json'), 'utf8'))
    const created = state.workers['groups-gateway-production'].versions.at(-1)
    expect(created.secret).toBe('sk-admin-new-key')
    expect(runsOf('rotate')).toEqual([
      ['deployments', 'status', '--env', 'production', '--json'],
      ['versions', 'list', '--env', 'production', '--json'],
      ['versions', 'secret', 'put', 'OPENAI_ADMIN_KEY', '--env', 'production'],
      [
        'versions',
        'deploy',
        `${created.id}@100%`,
        '--env',
        'production',
        '--yes',
        '--message',
        'secret OPENAI_ADMIN_KEY',
      ],
    ])
    expect(stdout).toMatch(`version ${created.id} (the code of ${OLD}) now serves all traffic`)
  })

  it('refuses after a rolled-back rollout, when a new version would copy the bad one, changing nothing', async () => {
    withVersions('after-rollback', [OLD, BAD], [[OLD, 100]])
    const { code, stderr } = await secret('after-rollback')
    expect(code).toBe(1)
    expect(stderr).toMatch(`the newest uploaded version (${BAD}) is not the deployed one (${OLD})`)
    expect(runsOf('after-rollback').map((a) => a.slice(0, 2))).toEqual([
      ['deployments', 'status'],
      ['versions', 'list'],
    ])
  })

  it('refuses during a rollout (a split deployment), changing nothing', async () => {
    withVersions(
      'during',
      [OLD, BAD],
      [
        [BAD, 10],
        [OLD, 90],
      ],
    )
    const { code, stderr } = await secret('during')
    expect(code).toBe(1)
    expect(stderr).toMatch(/the current deployment is itself split: finish or roll it back first/)
    expect(runsOf('during')).toHaveLength(1)
  })

  it('refuses a value missing on standard input, and a bad name, with exit 2, running nothing', async () => {
    const empty = await secret('no-value', ': | ')
    expect(empty.code).toBe(2)
    expect(empty.stderr).toMatch(/the secret's value comes on standard input; got none/)
    const bad = await p.sh(
      'printf x | npm run -s secret -- put admin-key --env production',
      standIn('bad-name'),
    )
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/UPPER_SNAKE_CASE; got 'admin-key'/)
    expect([...runsOf('no-value'), ...runsOf('bad-name')]).toEqual([])
  })
})

describe('npm run partners --remote, through a stand-in wrangler', () => {
  it('writes the environment named by --env, and says so', async () => {
    const env = {
      ...standIn('remote'),
      PARTNER_KEY_SECRET: 'the-staging-secret-for-this-test-0123456789',
    }
    const created = await p.sh('npm run -s partners -- create acme --remote --env staging', env)
    expect(created.code).toBe(0)
    expect(created.stdout).toMatch(
      /^created partner 'acme' \(tier standard\) in environment 'staging' \(remote\)\. It is typically seen everywhere within 120 s/,
    )
    expect(created.stderr).toMatch(/through wrangler…/)
    const listed = await p.sh('npm run -s partners -- list --json --remote --env staging', env)
    expect(JSON.parse(listed.stdout)).toMatchObject([{ name: 'acme', tier: 'standard' }])
    const runs = runsOf('remote')
    expect(runs.map((a) => a.slice(0, 3))).toEqual([
      ['kv', 'key', 'list'],
      ['kv', 'key', 'put'],
      ['kv', 'key', 'list'],
    ])
    for (const run of runs) {
      expect(run.slice(-5)).toEqual(['--binding', 'PARTNERS', '--remote', '--env', 'staging'])
    }
  })
})

describe('npm run smoke, against the running gateway', () => {
  it('passes with a partner key: exit 0 and an ok line per check', async () => {
    const { code, stdout } = await p.sh(`npm run -s smoke -- ${inject('gatewayUrl')}`, {
      SMOKE_PARTNER_KEY: inject('partnerKey'),
    })
    expect(code).toBe(0)
    expect(stdout.trim().split('\n')).toEqual([
      'ok   GET /healthz -> 200',
      expect.stringMatching(
        /^ok {3}GET \/v1\/organization\/groups\?limit=1 -> 200 \(groups-gateway; /,
      ),
    ])
  })

  it('fails with a key the gateway refuses: exit 1 and the failing check named', async () => {
    const { code, stdout, stderr } = await p.sh(`npm run -s smoke -- ${inject('gatewayUrl')}`, {
      SMOKE_PARTNER_KEY: `gwp_${'x'.repeat(43)}`,
    })
    expect(code).toBe(1)
    expect(stdout).toMatch(/^FAIL GET \/v1\/organization\/groups\?limit=1 -> 401/m)
    expect(stderr.trim()).toBe('npm run smoke: a smoke check failed')
  })

  it.concurrent.for([
    { what: 'no URL', args: '', env: { SMOKE_PARTNER_KEY: 'k' }, says: 'the base URL is required' },
    {
      what: 'a URL that is not one',
      args: 'staging',
      env: { SMOKE_PARTNER_KEY: 'k' },
      says: "the base URL must be an http(s) URL; got 'staging'",
    },
    {
      what: 'no SMOKE_PARTNER_KEY',
      args: 'http://127.0.0.1:1',
      env: {},
      says: 'SMOKE_PARTNER_KEY must hold a partner key',
    },
  ])('refuses $what in one line with exit 2', async ({ args, env, says }) => {
    const { code, stderr } = await p.sh(
      `npm run -s smoke -- ${args}`,
      env as Record<string, string>,
    )
    expect(code).toBe(2)
    expect(stderr.trim()).toBe(`npm run smoke: ${says} (see npm run smoke -- --help)`)
  })
})

describe('npm run usage, against a stand-in SQL API', () => {
  let api: Server
  let base: string
  const asked: { url: string; auth: string; body: string }[] = []
  let answer: { status: number; body: string } = { status: 200, body: JSON.stringify(recorded) }
  beforeAll(async () => {
    api = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => {
        body += d
      })
      req.on('end', () => {
        asked.push({ url: req.url ?? '', auth: req.headers.authorization ?? '', body })
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body)
      })
    })
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(api.address() as { port: number }).port}/client/v4`
  })
  afterEach(() => {
    asked.length = 0
    answer = { status: 200, body: JSON.stringify(recorded) }
  })
  afterAll(() => api.close())

  const credentials = () => ({
    CLOUDFLARE_API_BASE_URL: base,
    CLOUDFLARE_ACCOUNT_ID: 'acct',
    CLOUDFLARE_API_TOKEN: 'tok',
  })
  const usage = (args: string, env = credentials()) => p.sh(`npm run -s usage -- ${args}`, env)

  it("prints a table from the environment's own dataset, weighted by sample interval", async () => {
    const { code, stdout } = await usage('--env production --since 24h')
    expect(code).toBe(0)
    expect(stdout.trimEnd()).toBe(
      [
        'PARTNER  REQUESTS  HIT %  4XX  429  5XX  UPSTREAM  P50 MS  P99 MS',
        'acme       182400   98.2  212   40    3      2911       3      41',
        'globex       9120   96.2    0    0    0       301       4      88',
        '-              57    0.0   51    6    0         0       1      12',
      ].join('\n'),
    )
    expect(asked).toHaveLength(1)
    expect(asked[0]?.url).toBe('/client/v4/accounts/acct/analytics_engine/sql')
    expect(asked[0]?.auth).toBe('Bearer tok')
    expect(asked[0]?.body).toMatch(/FROM groups_gateway_production\n/)
    expect(asked[0]?.body).toMatch(/INTERVAL '86400' SECOND/)
    expect(asked[0]?.body).toMatch(/quantileWeighted\(0\.99, double3, _sample_interval\)/)
    expect(asked[0]?.body).not.toMatch(/COUNT\(/)
  })

  it('--json prints the rows as JSON, from staging when asked', async () => {
    const { code, stdout } = await usage('--env staging --json --since 90m')
    expect(code).toBe(0)
    expect(JSON.parse(stdout)[0]).toMatchObject({ partner: 'acme', requests: 182400 })
    expect(asked[0]?.body).toMatch(/FROM groups_gateway_staging\n[\s\S]*INTERVAL '5400' SECOND/)
  })

  it('--help prints the usage and exits 0 without asking the API, credentials set or not', async () => {
    for (const env of [credentials(), {}]) {
      const { code, stdout } = await usage('--help', env as ReturnType<typeof credentials>)
      expect(code).toBe(0)
      expect(stdout).toMatch(/^usage: npm run usage -- --env ENV/)
    }
    expect(asked).toEqual([])
  })

  it.for([
    {
      what: 'a --since that is not a span',
      args: '--env production --since nonsense',
      says: "--since takes a number and m, h or d, at most 90d (24h, say); got 'nonsense'",
    },
    { what: 'a missing --env', args: '--since 1h', says: '--env is required' },
    {
      what: 'an unknown environment',
      args: '--env prod',
      says: "--env must be one of staging, production; got 'prod'",
    },
  ])('refuses $what in one line with exit 2, asking nothing', async ({ args, says }) => {
    const { code, stderr } = await usage(args)
    expect(code).toBe(2)
    expect(stderr.trim()).toBe(`npm run usage: ${says} (see npm run usage -- --help)`)
    expect(asked).toEqual([])
  })

  it('says in one line (exit 2) which credentials are missing', async () => {
    const { code, stderr } = await usage('--env production', {} as ReturnType<typeof credentials>)
    expect(code).toBe(2)
    expect(stderr).toMatch(
      /^npm run usage: CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN must be set/,
    )
  })

  it('reports a refusal of the API in one line with exit 1, no stack trace', async () => {
    answer = { status: 403, body: '{"errors":[{"code":10000,"message":"Authentication error"}]}' }
    const { code, stdout, stderr } = await usage('--env production')
    expect(code).toBe(1)
    expect(stdout).toBe('')
    expect(stderr.trim().split('\n')).toEqual([
      'asking the Analytics Engine SQL API about groups_gateway_production…',
      'npm run usage: the SQL API answered 403: {"errors":[{"code":10000,"message":"Authentication error"}]}',
    ])
  })
})

describe('every npm script of ours', () => {
  const ours = ourScripts()

  // That these are the ones this file covers: test/node/npm-scripts.test.ts.
  it.concurrent.for(ours)(
    '%s answers --help with its usage and exit 0, touching nothing',
    async (name) => {
      const { code, stdout, stderr } = await p.sh(`npm run -s ${name} -- --help`)
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
      expect(stdout).toMatch(
        new RegExp(`^usage: (SMOKE_PARTNER_KEY=\\S+ )?npm (run ${name}|start)\\b`),
      )
      expect(existsSync(join(p.dir, '.wrangler'))).toBe(false)
    },
  )
})
