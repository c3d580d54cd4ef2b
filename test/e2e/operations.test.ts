// The operator's scripts spawned through npm as the README and runbook write them: `rollout` and
// remote `partners` against a stand-in `wrangler` (where npm finds the real one) that records its
// arguments and prints wrangler's own output formats; `smoke` against the running gateway;
// `usage` against a stand-in for the Analytics Engine SQL API answering a recorded JSON.
import { existsSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import recorded from '../fixtures/usage-answer.json'
import { type Project, project, writeIn } from './project'

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

/** A gateway that answers every request with `status`: a broken new version, say. */
async function brokenGateway(status: number): Promise<{ url: string; server: Server }> {
  const server = createServer((_, res) => res.writeHead(status).end('{}'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server }
}

const OLD = '11111111-1111-4111-8111-111111111111'
const NEW = '22222222-2222-4222-8222-222222222222'
/** What `wrangler versions upload --env production` printed for NEW (wrangler 4.156.2's format). */
const UPLOAD_OUTPUT = `\n ⛅️ wrangler 4.156.2\n────────────────────\nTotal Upload: 412.08 KiB / gzip: 88.40 KiB\nWorker Startup Time: 12 ms\nUploaded groups-gateway-production (1.21 sec)\nWorker Version ID: ${NEW}\n`

/** An account whose production Worker serves OLD at 100 % and has NEW uploaded beside it. */
function account(name: string) {
  writeIn(
    p,
    `${name}-state.json`,
    JSON.stringify({
      workers: {
        'groups-gateway-production': {
          versions: [{ id: OLD }, { id: NEW }],
          deployments: [{ id: 'd-1', versions: [{ version_id: OLD, percentage: 100 }] }],
        },
      },
    }),
  )
}

describe('npm run rollout, through a stand-in wrangler', () => {
  const rollout = (name: string, args: string, key = inject('partnerKey')) =>
    p.sh(`npm run -s rollout -- ${args}`, {
      ...standIn(name),
      SMOKE_PARTNER_KEY: key,
      UPLOAD_OUTPUT,
    })

  it('moves production 10 -> 50 -> 100 % with a passing smoke check at each step', async () => {
    account('full')
    const gateway = inject('gatewayUrl')
    const { code, stdout } = await rollout(
      'full',
      `--env production --output "$UPLOAD_OUTPUT" --steps 10,50,100 --wait 0 --smoke ${gateway}`,
    )
    expect(code, stdout).toBe(0)
    expect(runsOf('full')).toEqual([
      ['deployments', 'status', '--env', 'production', '--json'],
      ...[10, 50].map((pct) => [
        'versions',
        'deploy',
        `${NEW}@${pct}%`,
        `${OLD}@${100 - pct}%`,
        '--env',
        'production',
        '--yes',
        '--message',
        `rollout ${pct}%`,
      ]),
      [
        'versions',
        'deploy',
        `${NEW}@100%`,
        '--env',
        'production',
        '--yes',
        '--message',
        'rollout 100%',
      ],
    ])
    expect(stdout.match(/^ok {3}GET \/healthz -> 200$/gm)).toHaveLength(3)
  })

  it('puts the old version back at 100 % when the first step fails its smoke check', async () => {
    account('rollback')
    const broken = await brokenGateway(500)
    try {
      const { code, stdout, stderr } = await rollout(
        'rollback',
        `--env production --output "$UPLOAD_OUTPUT" --wait 0 --smoke ${broken.url}`,
      )
      expect(code).toBe(1)
      expect(stdout).toMatch(/^FAIL GET \/healthz -> 500$/m)
      expect(stderr).toMatch(/npm run rollout: the rollout was rolled back/)
      expect(runsOf('rollback').map((a) => a.slice(0, 3))).toEqual([
        ['deployments', 'status', '--env'],
        ['versions', 'deploy', `${NEW}@10%`],
        ['versions', 'deploy', `${OLD}@100%`],
      ])
    } finally {
      broken.server.close()
    }
  })

  it.concurrent.for([
    {
      what: 'a missing --env',
      args: '--output x --smoke http://127.0.0.1:1',
      says: '--env is required',
    },
    {
      what: 'an unknown environment',
      args: '--env prod --output x --smoke http://127.0.0.1:1',
      says: "--env must be one of staging, production; got 'prod'",
    },
    {
      what: '--wait without a value',
      args: '--env production --output x --smoke http://127.0.0.1:1 --wait',
      says: '--wait needs a value',
    },
    {
      what: 'a --wait that is not a number',
      args: '--env production --output x --smoke http://127.0.0.1:1 --wait soon',
      says: "--wait must be a whole number from 0 to 3600; got 'soon'",
    },
    {
      what: 'steps that do not end at 100',
      args: '--env production --output x --smoke http://127.0.0.1:1 --steps 10,50',
      says: "--steps must increase and end at 100; got '10,50'",
    },
    {
      what: 'a --smoke that is not a URL',
      args: '--env production --output x --smoke staging',
      says: "--smoke must be an http(s) URL; got 'staging'",
    },
    {
      what: 'an --output with no version id',
      args: '--env production --output nonsense --smoke http://127.0.0.1:1',
      says: '--output: no "Worker Version ID" in the versions upload output',
    },
    { what: 'an unknown flag', args: '--env production --force', says: 'unknown option --force' },
  ])('refuses $what in one line, exit 2, running nothing', async ({ what, args, says }) => {
    const name = `bad-${what.replace(/\W+/g, '-')}`
    const { code, stderr } = await rollout(name, args)
    expect(code).toBe(2)
    expect(stderr.trim()).toBe(`npm run rollout: ${says} (see npm run rollout -- --help)`)
    expect(runsOf(name)).toEqual([])
  })

  it('--help prints the usage and exits 0, running nothing', async () => {
    const { code, stdout } = await rollout('help', '--help')
    expect(code).toBe(0)
    expect(stdout).toMatch(/^usage: npm run rollout -- --env ENV --output TEXT --smoke URL/)
    expect(runsOf('help')).toEqual([])
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
      /^created partner 'acme' \(tier standard\) in environment 'staging' \(remote\)\. It reaches every location within 120 s/,
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
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
    scripts: Record<string, string>
  }
  const ours = Object.entries(pkg.scripts)
    .filter(
      ([name, command]) =>
        /^(tsx|node) [\w/.-]+$/.test(command) &&
        !name.startsWith('post') &&
        !name.startsWith('pre'),
    )
    .map(([name]) => name)

  it('are the ones this test covers', () => {
    expect(ours.sort()).toEqual(
      [
        'bench',
        'cache',
        'lint:openapi',
        'openapi',
        'partners',
        'rollout',
        'setup:chromium',
        'simulator',
        'smoke',
        'start',
        'usage',
      ].sort(),
    )
  })

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
