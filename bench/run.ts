// `npm run bench`: the deploy bundle, run directly in workerd through Miniflare's API (never
// `wrangler dev`, whose proxy hides the difference), beside fair ceilings: minimal hand-written
// workers with the same observable effects per request (the same status, headers and body bytes;
// the same rate-limit binding call; the same KV read for a KV hit; the same number of log lines;
// the same Analytics Engine data point).
// Gateway and ceiling are measured in alternation, round after round, and compared by the median.
// Load comes from autocannon in a child process, on 127.0.0.1 only, for a bounded time; every
// port is picked free. Results go to bench/.results/ (ignored); `--snapshot` also writes the
// committed bench/results/latest.{md,json}.
//
// BENCH_DURATION (seconds per side per round, default 8), BENCH_ROUNDS (default 5), BENCH_CONNECTIONS
// (default 16), BENCH_GROUPS (simulator size, default 10000), BENCH_UPSTREAM_LATENCY_MS (default 30).
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { gzipSync } from 'node:zlib'
import { convertV4MiniflareOptions, Miniflare } from 'miniflare'
import OpenAI from 'openai'
import { integer, readArgs } from '../scripts/cli'
import { DEV_PARTNER_KEY_SECRET } from '../scripts/dev-partner'
import { OFFLINE_ENV, WRANGLER } from '../scripts/wrangler'
import { startSimulatorServer } from '../simulator/server'
import { SIMULATOR_ADMIN_KEY } from '../simulator/upstream'
import { digestKey, generatePartnerKey, storageKey } from '../src/partners/keys'

const HELP = `usage: npm run bench [-- --snapshot | --pairs]

The gateway's deploy bundle in workerd beside fair ceilings, in A-B-B-A rounds (see docs).
  --snapshot   also write the committed bench/results/latest.{md,json}
  --pairs      only the gateway-versus-ceiling rounds

Environment: BENCH_DURATION (seconds per side per round, 8), BENCH_ROUNDS (5), BENCH_CONNECTIONS
(16), BENCH_GROUPS (10000), BENCH_UPSTREAM_LATENCY_MS (30).`

const { values: flags } = await (async () => {
  try {
    return readArgs({
      name: 'npm run bench',
      help: HELP,
      options: { snapshot: { type: 'boolean' }, pairs: { type: 'boolean' } },
    })
  } catch (err) {
    console.error(`npm run bench: ${(err as Error).message} (see npm run bench -- --help)`)
    process.exit(2)
  }
})()
const setting = (name: string, fallback: number, min: number, max: number) => {
  try {
    return integer(name, process.env[name] ?? String(fallback), min, max)
  } catch (err) {
    console.error(`npm run bench: ${(err as Error).message}`)
    process.exit(2)
  }
}
const DURATION = setting('BENCH_DURATION', 8, 1, 600)
const ROUNDS = setting('BENCH_ROUNDS', 5, 1, 50)
const CONNECTIONS = setting('BENCH_CONNECTIONS', 16, 1, 1000)
const GROUPS = setting('BENCH_GROUPS', 10_000, 1, 1_000_000)
const UPSTREAM_LATENCY_MS = setting('BENCH_UPSTREAM_LATENCY_MS', 30, 0, 10_000)
const SNAPSHOT = flags.snapshot === true
/** `--pairs`: only the gateway-versus-ceiling rounds, for quick comparisons while developing. */
const PAIRS_ONLY = flags.pairs === true
const BUILD_DIR = 'bench/.build'
const OUT_DIR = 'bench/.results'
const PAGE_PATH = '/v1/organization/groups?limit=100'
const PARTNER = 'bench'
/** The return-after-the-stale-window scenario's windows (s): they pass in seconds, not minutes. */
const RETURN_TTL_SECONDS = 8
const RETURN_SWR_SECONDS = 4

interface Run {
  requests: number
  /** Requests sent, with a list of paths: those in flight when the time ran out go unanswered. */
  sent?: number
  /** The workerd processes' CPU time (user + system, from /proc) per answered request, in µs. */
  cpuUs?: number
  rps: number
  p50: number
  p99: number
  errors: number
}
interface Row extends Run {
  scenario: string
  connections: number
  note?: string
}

const log = (line: string) => console.log(line)
const mean = (runs: Run[]): Run => {
  const avg = (f: (r: Run) => number) => runs.reduce((n, r) => n + f(r), 0) / runs.length
  return {
    requests: avg((r) => r.requests),
    rps: avg((r) => r.rps),
    p50: avg((r) => r.p50),
    p99: avg((r) => r.p99),
    errors: avg((r) => r.errors),
    cpuUs: avg((r) => r.cpuUs ?? Number.NaN),
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

// --- 1. the bundle, exactly as `wrangler deploy --minify` would upload it ---
log('building the deploy bundle (wrangler deploy --dry-run --minify)...')
const build = spawnSync(
  process.execPath,
  [WRANGLER, 'deploy', '--dry-run', '--minify', '--outdir', BUILD_DIR],
  { encoding: 'utf8', env: { ...process.env, ...OFFLINE_ENV } },
)
if (build.status !== 0) throw new Error(build.stderr || build.stdout)
const bundle = readFileSync(`${BUILD_DIR}/index.js`)
const bundleKiB = { raw: bundle.length / 1024, gzip: gzipSync(bundle).length / 1024 }
log(`bundle: ${bundleKiB.raw.toFixed(1)} KiB raw, ${bundleKiB.gzip.toFixed(1)} KiB gzip`)
const compatibilityDate =
  /compatibility_date\s*=\s*"([^"]+)"/.exec(readFileSync('wrangler.toml', 'utf8'))?.[1] ??
  '2026-11-01'

// --- 2. the simulator, with the upstream's latency, on a free port ---
const simulator = await startSimulatorServer({
  port: 0,
  groups: GROUPS,
  latencyMs: UPSTREAM_LATENCY_MS,
  adminKey: SIMULATOR_ADMIN_KEY,
})
const simulatorUrl = simulator.baseUrl
const upstreamCalls = () => simulator.sim.listRequests
const page = await (
  await fetch(`${simulatorUrl}/organization/groups?limit=100`, {
    headers: { Authorization: `Bearer ${SIMULATOR_ADMIN_KEY}` },
  })
).text()

// --- 3. workerd: the gateway, and the gateway with its memory tier off ---
// Every var at its default (src/config.ts) but the upstream's URL. Rate limits high enough that
// the load measures serving, not 429s; the binding is still asked.
const BENCH_RATE_LIMIT = { simple: { limit: 1_000_000_000, period: 60 as const } }
const gatewayVars = {
  OPENAI_BASE_URL: simulatorUrl,
  OPENAI_ADMIN_KEY: SIMULATOR_ADMIN_KEY,
  PARTNER_KEY_SECRET: DEV_PARTNER_KEY_SECRET,
}
const gateway = (name: string, extra: Record<string, string>) => ({
  name,
  modules: true,
  scriptPath: `${BUILD_DIR}/index.js`,
  compatibilityDate,
  bindings: { ...gatewayVars, ...extra },
  kvNamespaces: { GROUPS_CACHE: `${name}-cache`, PARTNERS: `${name}-partners` },
  durableObjects: { PAGE_FETCHER: 'PageFetcher', POPULAR_PAGES: 'PopularPages' },
  analyticsEngineDatasets: { USAGE: { dataset: `${name}-usage` } },
  versionMetadata: 'VERSION',
  ratelimits: {
    RATE_LIMIT_STANDARD: { namespace_id: '1001', ...BENCH_RATE_LIMIT },
    RATE_LIMIT_RESTRICTED: { namespace_id: '1002', ...BENCH_RATE_LIMIT },
    RATE_LIMIT_ELEVATED: { namespace_id: '1003', ...BENCH_RATE_LIMIT },
  },
  unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
})
// The log lines workerd hands back: each gateway's line for a cache *hit* is kept, so the ceilings
// write the very line a hit writes (a miss's line is longer).
const requestLines = new Map<string, string>()
let currentWorker = ''
const handleStructuredLogs = ({ message }: { message: string }) => {
  if (message.includes('"event":"request"') && message.includes('"cache":"groups-gateway; hit')) {
    requestLines.set(currentWorker, message)
  }
}
const mf = new Miniflare(
  convertV4MiniflareOptions({
    handleStructuredLogs,
    workers: [
      gateway('gateway', {}),
      gateway('gateway-kv', { MEMORY_CACHE_MAX_ENTRIES: '0' }),
      // The return after the stale window: short windows so it passes in seconds, demand sent on
      // every request, and a budget that covers every page of the walk.
      ...['walk-cold', 'walk-prewarm'].map((name) =>
        gateway(name, {
          CACHE_TTL_SECONDS: String(RETURN_TTL_SECONDS),
          CACHE_STALE_WHILE_REVALIDATE_SECONDS: String(RETURN_SWR_SECONDS),
          PREWARM_FLUSH_SECONDS: '0',
          PREWARM_MAX_PAGES: '100',
        }),
      ),
    ],
  }),
)
await mf.ready
const url = async (m: Miniflare, name: string) =>
  (await m.unsafeGetDirectURL(name)).toString().replace(/\/$/, '')
const gatewayUrl = await url(mf, 'gateway')
const kvUrl = await url(mf, 'gateway-kv')
const partnerKey = await generatePartnerKey(DEV_PARTNER_KEY_SECRET)
for (const name of ['gateway', 'gateway-kv', 'walk-cold', 'walk-prewarm']) {
  const record = { name: PARTNER, createdAt: new Date().toISOString(), tier: 'elevated' }
  const kv = (await mf.getKVNamespace('PARTNERS', name)) as unknown as KVNamespace
  await kv.put(storageKey(await digestKey(partnerKey)), JSON.stringify(record), {
    metadata: record,
  })
}
const auth = { authorization: `Bearer ${partnerKey}` }

async function expectPage(target: string, headers: Record<string, string> = {}) {
  const res = await fetch(target + PAGE_PATH, { headers })
  const body = await res.text()
  if (res.status !== 200) throw new Error(`${target}: ${res.status} ${body}`)
  if (body !== page) throw new Error(`${target} serves other bytes`)
  return res
}

// Warm both gateways: a miss stores the page, the next request is the hit being measured.
/** Waits (a few seconds at most) for workerd to hand back a worker's hit line. */
async function hitLine(worker: string): Promise<string> {
  for (let waited = 0; !requestLines.has(worker); waited += 10) {
    if (waited > 5_000) throw new Error(`${worker} logged no hit line`)
    await new Promise((r) => setTimeout(r, 10))
  }
  return requestLines.get(worker) as string
}
currentWorker = 'gateway'
await expectPage(gatewayUrl, auth)
const hotHit = await expectPage(gatewayUrl, auth)
const hotLine = await hitLine('gateway')
currentWorker = 'gateway-kv'
await expectPage(kvUrl, auth)
const kvHit = await expectPage(kvUrl, auth)
const kvLine = await hitLine('gateway-kv')
currentWorker = ''
if (!hotHit.headers.get('cache-status')?.includes('hit')) throw new Error('no hot hit')
if (!kvHit.headers.get('cache-status')?.includes('hit')) throw new Error('no KV hit')
const kvKeys = await (
  (await mf.getKVNamespace('GROUPS_CACHE', 'gateway-kv')) as unknown as KVNamespace
).list()
const pageKey = kvKeys.keys.find((k) => k.name.startsWith('groups:v2'))?.name
if (!pageKey) throw new Error('the KV gateway stored no page')

// --- 4. the ceilings: the same effects per request, and nothing else ---
function ceilingScript(response: Response, logLine: string, readKv: boolean): string {
  const headers = [...response.headers].filter(([n]) => n !== 'content-length' && n !== 'date')
  // The page as bytes encoded once, as the gateway's memory tier keeps it: never per request.
  return `const PAGE = new TextEncoder().encode(${JSON.stringify(page)})
const HEADERS = ${JSON.stringify(headers)}
const LINE = ${JSON.stringify(logLine)}
export default {
  async fetch(request, env) {
    await env.RATE_LIMIT.limit({ key: ${JSON.stringify(PARTNER)} })
    ${readKv ? `const { value } = await env.CACHE.getWithMetadata(${JSON.stringify(pageKey)}, 'text')` : 'const value = PAGE'}
    const headers = new Headers(HEADERS)
    headers.set('x-request-id', crypto.randomUUID())
    console.log(LINE)
    env.USAGE.writeDataPoint({
      indexes: [${JSON.stringify(PARTNER)}],
      blobs: ['/v1/organization/groups', 'GET', 'hit', '', env.VERSION.id],
      doubles: [200, 0, 0, 0],
    })
    return new Response(value, { headers })
  },
}`
}
const ceiling = (name: string, script: string) => ({
  name,
  modules: true,
  script,
  compatibilityDate,
  kvNamespaces: { CACHE: `${name}-cache` },
  analyticsEngineDatasets: { USAGE: { dataset: `${name}-usage` } },
  versionMetadata: 'VERSION',
  ratelimits: { RATE_LIMIT: { namespace_id: '2001', ...BENCH_RATE_LIMIT } },
  unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
})
const ceilings = new Miniflare(
  convertV4MiniflareOptions({
    handleStructuredLogs: () => {},
    workers: [
      ceiling('ceiling-hot', ceilingScript(hotHit, hotLine, false)),
      ceiling('ceiling-kv', ceilingScript(kvHit, kvLine, true)),
    ],
  }),
)
await ceilings.ready
const ceilingKv = (await ceilings.getKVNamespace('CACHE', 'ceiling-kv')) as unknown as KVNamespace
const stored = await (
  (await mf.getKVNamespace('GROUPS_CACHE', 'gateway-kv')) as unknown as KVNamespace
).getWithMetadata(pageKey, 'text')
await ceilingKv.put(pageKey, stored.value ?? '', { metadata: stored.metadata })
const ceilingHotUrl = await url(ceilings, 'ceiling-hot')
const ceilingKvUrl = await url(ceilings, 'ceiling-kv')
await expectPage(ceilingHotUrl)
await expectPage(ceilingKvUrl)
/** This run's workerd processes: pinned, and the ones whose CPU time is read. */
const workerds = workerdsOf(process.pid)
pinCores()

/**
 * With two cores or more, every workerd process gets core 0 and everything else (this process,
 * which also parses workerd's log lines and runs the simulator, and autocannon) shares the rest,
 * so each figure is the worker's own cost, not the harness's.
 */
function pinCores(): void {
  const cores = cpus().length
  if (cores < 2 || spawnSync('taskset', ['-V']).status !== 0) {
    log('cores not pinned (needs 2+ cores and taskset)')
    return
  }
  const rest = cores === 2 ? '1' : `1-${cores - 1}`
  // Only the workerd processes this run started (descendants of this process), never another's.
  for (const pid of workerds) spawnSync('taskset', ['-a', '-p', '-c', '0', pid])
  spawnSync('taskset', ['-a', '-p', '-c', rest, String(process.pid)])
  log(`pinned: this run's ${workerds.length} workerd process(es) on core 0, harness on ${rest}`)
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100

/** The CPU time (user + system) this run's workerd processes have used so far, in µs. */
function workerdCpuUs(): number {
  let ticks = 0
  for (const pid of workerds) {
    try {
      // After the command's closing parenthesis: fields 3 onwards; utime and stime are 14 and 15.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      return Number.NaN
    }
  }
  return (ticks / CLOCK_TICKS) * 1e6
}

/** The workerd processes among a process's descendants, by PID. */
function workerdsOf(pid: number): string[] {
  const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' }).stdout
  const found: string[] = []
  for (let queue = [String(pid)]; queue.length > 0; ) {
    const children = run('pgrep', ['-P', queue.shift() as string])
      .split('\n')
      .filter(Boolean)
    queue.push(...children)
    found.push(...children.filter((c) => run('ps', ['-o', 'comm=', '-p', c]).trim() === 'workerd'))
  }
  return found
}

// --- 5. load, from a separate process ---
let optionFiles = 0
async function load(
  label: string,
  target: string,
  options: { headers?: Record<string, string>; paths?: string[]; duration?: number } = {},
): Promise<Run> {
  const file = `${BUILD_DIR}/load-${optionFiles++}.json`
  writeFileSync(
    file,
    JSON.stringify({
      url: target + PAGE_PATH,
      connections: CONNECTIONS,
      label,
      ...options,
      duration: options.duration ?? DURATION,
    }),
  )
  const cpuBefore = workerdCpuUs()
  const child = spawn(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'bench/load.ts', file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d
  })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`load for ${label} failed (${code})`)
  const run = JSON.parse(out) as Run
  run.cpuUs = (workerdCpuUs() - cpuBefore) / run.requests
  log(
    `  ${label}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms, ${run.cpuUs.toFixed(0)} µs CPU/request, ${run.errors} errors`,
  )
  return run
}

class PairsDone extends Error {}

interface Pair {
  scenario: string
  ceiling: { name: string; url: string; headers?: Record<string, string> }
  gateway: { name: string; url: string; headers?: Record<string, string> }
  runs: { ceiling: Run; gateway: Run }[]
}
const pairs: Pair[] = [
  {
    scenario: 'hot hit (memory tier)',
    ceiling: { name: 'ceiling: limit + log + constant page', url: ceilingHotUrl },
    gateway: { name: 'gateway, hot hit', url: gatewayUrl, headers: auth },
    runs: [],
  },
  {
    scenario: 'KV hit (memory tier off)',
    ceiling: { name: 'ceiling: limit + KV read + log', url: ceilingKvUrl },
    gateway: { name: 'gateway, KV hit', url: kvUrl, headers: auth },
    runs: [],
  },
]

const rows: Row[] = []
let burstNote = ''
let burstCalls = Number.NaN
let walkGateway = Number.NaN
let walkDirect = Number.NaN
const returns: { scenario: string; calls: number; ms: number; cronCalls: number }[] = []
try {
  log(
    `\nload: ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION} s per side, 127.0.0.1 only`,
  )
  // Untimed warm-up, so no side pays for the JIT.
  for (const pair of pairs) {
    for (const side of ['ceiling', 'gateway'] as const) {
      const t = pair[side]
      await load(`${t.name} (warm-up)`, t.url, { headers: t.headers, duration: 2 })
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    log(`round ${round + 1} of ${ROUNDS}`)
    for (const pair of pairs) {
      // A B B A, half the time each: a drift in the machine's speed during the round (and this
      // one drifts: Miniflare's rate-limit binding writes SQLite) falls on both sides alike.
      const order =
        round % 2 === 0 ? (['ceiling', 'gateway'] as const) : (['gateway', 'ceiling'] as const)
      const runs: Record<'ceiling' | 'gateway', Run[]> = { ceiling: [], gateway: [] }
      for (const side of [...order, ...[...order].reverse()] as const) {
        const t = pair[side]
        runs[side].push(await load(t.name, t.url, { headers: t.headers, duration: DURATION / 2 }))
      }
      pair.runs.push({ ceiling: mean(runs.ceiling), gateway: mean(runs.gateway) })
    }
  }
  for (const pair of pairs) {
    for (const side of ['ceiling', 'gateway'] as const) {
      const runs = pair.runs.map((r) => r[side])
      rows.push({
        scenario: pair[side].name,
        connections: CONNECTIONS,
        requests: median(runs.map((r) => r.requests)),
        rps: median(runs.map((r) => r.rps)),
        p50: median(runs.map((r) => r.p50)),
        p99: median(runs.map((r) => r.p99)),
        errors: runs.reduce((n, r) => n + r.errors, 0),
        note: `rounds: ${runs.map((r) => r.rps.toFixed(0)).join(', ')} req/s; p99 ${runs.map((r) => r.p99.toFixed(2)).join(', ')} ms; CPU ${runs.map((r) => (r.cpuUs ?? Number.NaN).toFixed(0)).join(', ')} µs/request`,
      })
    }
  }

  if (PAIRS_ONLY) throw new PairsDone()
  // Every request a page no one asked for yet: its own cursor, through the simulator's latency.
  const ids = (
    (await (
      await fetch(`${simulatorUrl}/organization/groups?limit=1000`, {
        headers: { Authorization: `Bearer ${SIMULATOR_ADMIN_KEY}` },
      })
    ).json()) as { data: { id: string }[] }
  ).data.map((g) => g.id)
  const missPaths = Array.from(
    { length: 20_000 },
    (_, i) =>
      `/v1/organization/groups?limit=${1 + Math.floor(i / ids.length)}&after=${ids[i % ids.length]}`,
  )
  const beforeMiss = upstreamCalls()
  const miss = await load(`miss via simulator (${UPSTREAM_LATENCY_MS} ms)`, gatewayUrl, {
    headers: auth,
    paths: missPaths,
  })
  // Let calls still under way when the load stopped finish before counting.
  await new Promise((r) => setTimeout(r, 500))
  rows.push({
    scenario: `miss via simulator (${UPSTREAM_LATENCY_MS} ms)`,
    connections: CONNECTIONS,
    ...miss,
    // Each miss sent costs one upstream call, answered or not: the load's end cuts off the
    // requests in flight (one per connection), after their calls were made.
    note: `${upstreamCalls() - beforeMiss} upstream calls for ${miss.sent} requests sent (${miss.requests} answered before the load stopped)`,
  })

  // A cold burst: 50 at once on a page nobody has fetched.
  const before = upstreamCalls()
  const burstStarted = performance.now()
  const burst = await Promise.all(
    Array.from({ length: 50 }, () =>
      fetch(`${gatewayUrl}/v1/organization/groups?limit=77&order=desc`, { headers: auth }).then(
        async (r) => ({
          status: r.status,
          cache: r.headers.get('cache-status'),
          body: await r.text(),
        }),
      ),
    ),
  )
  const burstMs = performance.now() - burstStarted
  burstCalls = upstreamCalls() - before
  burstNote = `${burstCalls} upstream call(s); ${burst.filter((r) => r.cache?.includes('collapsed')).length} collapsed`
  rows.push({
    scenario: 'cold burst, 50 concurrent',
    connections: 50,
    requests: 50,
    rps: 50 / (burstMs / 1000),
    p50: Number.NaN,
    p99: burstMs,
    errors: burst.filter((r) => r.status !== 200).length,
    note: burstNote,
  })
  log(`  cold burst: ${burstNote}, all answered in ${burstMs.toFixed(0)} ms`)

  // The official SDK walking every group: through the warm gateway, and straight at the simulator.
  async function walk(baseURL: string, key: string): Promise<number> {
    const client = new OpenAI({ baseURL, adminAPIKey: key, maxRetries: 0 })
    const started = performance.now()
    let groups = 0
    for await (const _ of client.admin.organization.groups.list({ limit: 100 })) groups++
    if (groups !== GROUPS) throw new Error(`walk via ${baseURL}: saw ${groups} groups`)
    return performance.now() - started
  }
  await walk(`${gatewayUrl}/v1`, partnerKey) // warms every page
  walkGateway = await walk(`${gatewayUrl}/v1`, partnerKey)
  walkDirect = await walk(simulatorUrl, SIMULATOR_ADMIN_KEY)

  // A partner that syncs every hour: a walk, then again once the stale window has passed, without
  // and with the pre-warm cron (run once, just before the partner returns).
  const returnUrls = { cold: await url(mf, 'walk-cold'), prewarm: await url(mf, 'walk-prewarm') }
  await walk(`${returnUrls.cold}/v1`, partnerKey)
  await walk(`${returnUrls.prewarm}/v1`, partnerKey)
  await new Promise((r) => setTimeout(r, (RETURN_TTL_SECONDS + RETURN_SWR_SECONDS + 1) * 1000))
  const prewarmWorker = (await mf.getWorker('walk-prewarm')) as unknown as {
    scheduled(options: { cron: string }): Promise<{ outcome: string }>
  }
  for (const [scenario, target, prewarm] of [
    ['second walk after the stale window, no pre-warm', returnUrls.cold, false],
    ['second walk after the stale window, with pre-warm', returnUrls.prewarm, true],
  ] as const) {
    // The cron's run lands just before the partner returns, as a per-minute cron would.
    const beforeCron = upstreamCalls()
    if (prewarm) {
      const cron = await prewarmWorker.scheduled({ cron: '* * * * *' })
      if (cron.outcome !== 'ok') throw new Error(`the pre-warm run failed: ${cron.outcome}`)
    }
    const calls = upstreamCalls() - beforeCron
    const before = upstreamCalls()
    const ms = await walk(`${target}/v1`, partnerKey)
    // Let background refreshes the walk started finish before counting.
    await new Promise((r) => setTimeout(r, 500))
    returns.push({ scenario, calls: upstreamCalls() - before, ms, cronCalls: calls })
    log(`  ${scenario}: ${upstreamCalls() - before} upstream calls, ${(ms / 1000).toFixed(2)} s`)
  }
  for (const r of returns) {
    rows.push({
      scenario: `${r.scenario} (${GROUPS / 100} pages)`,
      connections: 1,
      requests: GROUPS / 100,
      rps: GROUPS / 100 / (r.ms / 1000),
      p50: Number.NaN,
      p99: Number.NaN,
      errors: 0,
      note: `${r.calls} upstream calls during the walk, ${(r.ms / 1000).toFixed(2)} s${r.cronCalls ? `; the pre-warm run made ${r.cronCalls} upstream calls before it` : ''}`,
    })
  }
  for (const [scenario, ms] of [
    [`SDK walk, ${GROUPS} groups, via warm gateway`, walkGateway],
    [`SDK walk, ${GROUPS} groups, straight at simulator`, walkDirect],
  ] as const) {
    rows.push({
      scenario,
      connections: 1,
      requests: GROUPS / 100,
      rps: GROUPS / 100 / (ms / 1000),
      p50: Number.NaN,
      p99: Number.NaN,
      errors: 0,
      note: `${(ms / 1000).toFixed(2)} s for ${GROUPS / 100} pages`,
    })
    log(`  ${scenario}: ${(ms / 1000).toFixed(2)} s`)
  }
} catch (err) {
  if (!(err instanceof PairsDone)) throw err
} finally {
  await ceilings.dispose()
  await mf.dispose()
  await simulator.close()
}

// --- 6. results ---
const ratios = pairs.map((pair) => ({
  scenario: pair.scenario,
  rps: median(pair.runs.map((r) => r.gateway.rps / r.ceiling.rps)),
  p99: median(pair.runs.map((r) => r.gateway.p99 / r.ceiling.p99)),
  cpu: median(
    pair.runs.map((r) => (r.gateway.cpuUs ?? Number.NaN) / (r.ceiling.cpuUs ?? Number.NaN)),
  ),
}))
const targets = [
  ...ratios.flatMap((r) => [
    {
      target: `${r.scenario}: req/s >= 0.90x its ceiling`,
      ok: r.rps >= 0.9,
      value: `${r.rps.toFixed(2)}x`,
    },
    {
      target: `${r.scenario}: p99 <= 1.25x its ceiling`,
      ok: r.p99 <= 1.25,
      value: `${r.p99.toFixed(2)}x`,
    },
  ]),
  { target: 'cold burst of 50: one upstream call', ok: burstCalls === 1, value: burstNote },
  {
    target: 'bundle <= 100 KiB gzip (minified)',
    ok: bundleKiB.gzip <= 100,
    value: `${bundleKiB.gzip.toFixed(1)} KiB`,
  },
  {
    target: 'pre-warm: the return walk makes fewer upstream calls, and is faster',
    ok:
      returns.length === 2 &&
      (returns[1]?.calls ?? 0) < (returns[0]?.calls ?? 0) &&
      (returns[1]?.ms ?? 0) < (returns[0]?.ms ?? 0),
    value: returns.map((r) => `${r.calls} calls / ${(r.ms / 1000).toFixed(2)} s`).join(' vs '),
  },
  {
    target: 'SDK walk via warm gateway faster than straight',
    ok: walkGateway < walkDirect,
    value: `${(walkDirect / walkGateway).toFixed(1)}x faster`,
  },
]
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '')
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${process.platform}, Node ${process.version}`
const md = [
  `# Benchmark: ${new Date().toISOString()}`,
  '',
  `Machine: ${machine}. Load: autocannon from a separate process, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION} s per side (ceiling and gateway in A B B A order, halves averaged), medians shown; 127.0.0.1 only. Workers run in workerd (pinned to one core) through Miniflare's direct sockets, from the minified deploy bundle (${fmt(bundleKiB.raw, 1)} KiB raw, ${fmt(bundleKiB.gzip, 1)} KiB gzip). Each ceiling asks the rate-limit binding, reads KV where the gateway does, writes the log line a gateway hit writes, makes a fresh request id, and answers the gateway's status, headers and body bytes (the hot one from bytes encoded once). Upstream: the simulator with ${GROUPS} groups and ${UPSTREAM_LATENCY_MS} ms latency. Pages: \`limit=100\` (${(page.length / 1024).toFixed(1)} KiB).`,
  '',
  '| scenario | conns | req/s | p50 ms | p99 ms | errors | note |',
  '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ...rows.map(
    (r) =>
      `| ${r.scenario} | ${r.connections} | ${fmt(r.rps, 0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.errors} | ${r.note ?? ''} |`,
  ),
  '',
  '| scenario | req/s vs its ceiling (median of rounds) | p99 vs its ceiling (median of rounds) | CPU per request vs its ceiling (median of rounds) |',
  '| --- | ---: | ---: | ---: |',
  ...ratios.map(
    (r) => `| ${r.scenario} | ${r.rps.toFixed(2)}x | ${r.p99.toFixed(2)}x | ${r.cpu.toFixed(2)}x |`,
  ),
  '',
  '| target | result | |',
  '| --- | --- | --- |',
  ...targets.map((t) => `| ${t.target} | ${t.value} | ${t.ok ? 'met' : 'NOT met'} |`),
  '',
]
const json = `${JSON.stringify({ date: new Date().toISOString(), machine, connections: CONNECTIONS, durationSeconds: DURATION, rounds: ROUNDS, groups: GROUPS, upstreamLatencyMs: UPSTREAM_LATENCY_MS, bundleKiB, rows, ratios, targets }, null, 2)}\n`
const dirs = SNAPSHOT ? [OUT_DIR, 'bench/results'] : [OUT_DIR]
for (const dir of dirs) {
  mkdirSync(dir, { recursive: true })
  writeFileSync(`${dir}/latest.md`, md.join('\n'))
  writeFileSync(`${dir}/latest.json`, json)
}
log(`\n${md.join('\n')}`)
log(`written: ${dirs.map((d) => `${d}/latest.{md,json}`).join(', ')}`)
process.exit(0)
