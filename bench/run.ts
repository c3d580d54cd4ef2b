// `npm run bench`: the deployed bundle, run directly in workerd through Miniflare's API (never
// `wrangler dev`, whose proxy hides the difference), beside a bare worker that returns the same
// page bytes as a constant (the ceiling), with the simulator as the upstream. Load comes from this
// Node process with autocannon, on 127.0.0.1 only, for a bounded time. Writes
// bench/results/latest.{json,md}.
//
// BENCH_DURATION (seconds per load scenario, default 10), BENCH_CONNECTIONS (default 16),
// BENCH_GROUPS (simulator size, default 10000), BENCH_UPSTREAM_LATENCY_MS (default 30).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { gzipSync } from 'node:zlib'
import { convertV4MiniflareOptions, Miniflare } from 'miniflare'
import OpenAI from 'openai'
import { OFFLINE_ENV, WRANGLER } from '../scripts/wrangler'
import { SIMULATOR_ADMIN_KEY } from '../simulator/upstream'
import { digestKey, generatePartnerKey, storageKey } from '../src/partners/keys'

const DURATION = Number(process.env.BENCH_DURATION ?? 10)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16)
const GROUPS = Number(process.env.BENCH_GROUPS ?? 10_000)
const UPSTREAM_LATENCY_MS = Number(process.env.BENCH_UPSTREAM_LATENCY_MS ?? 30)
const SIM_PORT = Number(process.env.BENCH_SIM_PORT ?? 9400)
const BUILD_DIR = 'bench/.build'
const PAGE_PATH = '/v1/organization/groups?limit=100'
const env = { ...process.env, ...OFFLINE_ENV }

interface Row {
  scenario: string
  connections: number
  requests: number
  rps: number
  p50: number
  p99: number
  errors: number
  note?: string
}

const log = (line: string) => console.log(line)

// --- 1. the bundle, exactly as `wrangler deploy --minify` would upload it ---
log('building the deploy bundle (wrangler deploy --dry-run --minify)...')
const build = spawnSync(
  process.execPath,
  [WRANGLER, 'deploy', '--dry-run', '--minify', '--outdir', BUILD_DIR],
  { encoding: 'utf8', env },
)
if (build.status !== 0) throw new Error(build.stderr || build.stdout)
const bundle = readFileSync(`${BUILD_DIR}/index.js`)
const bundleKiB = { raw: bundle.length / 1024, gzip: gzipSync(bundle).length / 1024 }
log(`bundle: ${bundleKiB.raw.toFixed(1)} KiB raw, ${bundleKiB.gzip.toFixed(1)} KiB gzip`)
const compatibilityDate =
  /compatibility_date\s*=\s*"([^"]+)"/.exec(readFileSync('wrangler.toml', 'utf8'))?.[1] ??
  '2026-11-01'

// --- 2. the simulator, in its own process, with the upstream's latency ---
const simulatorUrl = `http://127.0.0.1:${SIM_PORT}/v1`
const simulator: ChildProcess = spawn(
  process.execPath,
  ['node_modules/tsx/dist/cli.mjs', 'simulator/server.ts'],
  {
    env: {
      ...env,
      SIM_PORT: String(SIM_PORT),
      SIM_GROUPS: String(GROUPS),
      SIM_LATENCY_MS: String(UPSTREAM_LATENCY_MS),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
)
await new Promise<void>((resolve, reject) => {
  simulator.once('exit', (code) => reject(new Error(`simulator exited (${code})`)))
  simulator.stdout?.on('data', (d: Buffer) => {
    if (d.toString().includes('upstream simulator')) resolve()
  })
})
const simStats = async () =>
  (await (await fetch(`http://127.0.0.1:${SIM_PORT}/__sim/stats`)).json()) as {
    listRequests: number
  }
const page = await (
  await fetch(`${simulatorUrl}/organization/groups?limit=100`, {
    headers: { Authorization: `Bearer ${SIMULATOR_ADMIN_KEY}` },
  })
).text()

// --- 3. workerd: the ceiling, the gateway, and the gateway with its memory tier off ---
const gatewayVars = {
  OPENAI_BASE_URL: simulatorUrl,
  OPENAI_ADMIN_KEY: SIMULATOR_ADMIN_KEY,
  CACHE_TTL_SECONDS: '60',
  CACHE_STALE_WHILE_REVALIDATE_SECONDS: '300',
  CACHE_STALE_IF_ERROR_SECONDS: '86400',
  UPSTREAM_TIMEOUT_MS: '5000',
  UPSTREAM_MAX_RETRIES: '2',
  UPSTREAM_BUDGET_MS: '12000',
  UPSTREAM_RETRY_BASE_MS: '500',
  CORS_ALLOWED_ORIGINS: '',
}
const gateway = (name: string, extra: Record<string, string>) => ({
  name,
  modules: true,
  scriptPath: `${BUILD_DIR}/index.js`,
  compatibilityDate,
  bindings: { ...gatewayVars, ...extra },
  kvNamespaces: { GROUPS_CACHE: `${name}-cache`, PARTNERS: `${name}-partners` },
  durableObjects: { PAGE_FETCHER: 'PageFetcher' },
  // The bench partner's tier is set high enough that the load measures serving, not 429s.
  ratelimits: {
    RATE_LIMIT_STANDARD: { namespace_id: '1001', simple: { limit: 60, period: 60 as const } },
    RATE_LIMIT_RESTRICTED: { namespace_id: '1002', simple: { limit: 10, period: 10 as const } },
    RATE_LIMIT_ELEVATED: {
      namespace_id: '1003',
      simple: { limit: 100_000_000, period: 60 as const },
    },
  },
  unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
})
const mf = new Miniflare(
  convertV4MiniflareOptions({
    // The gateway writes one log line per request; in production Workers Logs takes them, here
    // they are counted and dropped so the harness's own printing does not compete for the CPU.
    handleStructuredLogs: () => {},
    workers: [
      {
        name: 'ceiling',
        modules: true,
        script: `const PAGE = ${JSON.stringify(page)}
export default { fetch() { return new Response(PAGE, { headers: { 'content-type': 'application/json' } }) } }`,
        compatibilityDate,
        unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
      },
      gateway('gateway', {}),
      gateway('gateway-kv-only', { MEMORY_CACHE_MAX_ENTRIES: '0' }),
    ],
  }),
)
await mf.ready
pinCores()
const url = async (name: string) =>
  (await mf.unsafeGetDirectURL(name)).toString().replace(/\/$/, '')
const [ceilingUrl, gatewayUrl, kvOnlyUrl] = [
  await url('ceiling'),
  await url('gateway'),
  await url('gateway-kv-only'),
]
const partnerKey = generatePartnerKey()
for (const name of ['gateway', 'gateway-kv-only']) {
  const record = { name: 'bench', createdAt: new Date().toISOString(), tier: 'elevated' }
  const kv = (await mf.getKVNamespace('PARTNERS', name)) as unknown as KVNamespace
  await kv.put(storageKey(await digestKey(partnerKey)), JSON.stringify(record), {
    metadata: record,
  })
}
const auth = { authorization: `Bearer ${partnerKey}` }

/**
 * With two cores or more, workerd gets core 0 to itself and everything else here (this host,
 * which also parses workerd's log lines, the simulator and autocannon) shares the rest, so each
 * figure is the worker's own cost, not the harness's.
 */
function pinCores(): void {
  const cores = cpus().length
  if (cores < 2 || spawnSync('taskset', ['-V']).status !== 0) {
    log('cores not pinned (needs 2+ cores and taskset)')
    return
  }
  const rest = cores === 2 ? '1' : `1-${cores - 1}`
  const children = spawnSync('pgrep', ['-f', 'workerd serve'], { encoding: 'utf8' }).stdout.trim()
  for (const pid of children.split('\n').filter(Boolean)) {
    spawnSync('taskset', ['-a', '-p', '-c', '0', pid])
  }
  spawnSync('taskset', ['-a', '-p', '-c', rest, String(process.pid)])
  if (simulator.pid) spawnSync('taskset', ['-a', '-p', '-c', rest, String(simulator.pid)])
  log(`pinned: workerd on core 0, harness on core(s) ${rest}`)
}

// --- 4. load, from a separate process ---
let optionFiles = 0
function writeOptions(options: object): string {
  const file = `${BUILD_DIR}/load-${optionFiles++}.json`
  writeFileSync(file, JSON.stringify(options))
  return file
}

async function load(
  scenario: string,
  target: string,
  options: { headers?: Record<string, string>; paths?: string[] } = {},
): Promise<Row> {
  const child = spawn(
    process.execPath,
    [
      'node_modules/tsx/dist/cli.mjs',
      'bench/load.ts',
      writeOptions({
        url: target + PAGE_PATH,
        connections: CONNECTIONS,
        duration: DURATION,
        label: scenario,
        ...options,
      }),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d
  })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`load for ${scenario} failed (${code})`)
  const result = JSON.parse(out) as Omit<Row, 'scenario' | 'connections'>
  const row: Row = { scenario, connections: CONNECTIONS, ...result }
  log(
    `  ${scenario}: ${row.rps.toFixed(0)} req/s, p50 ${row.p50.toFixed(2)} ms, p99 ${row.p99.toFixed(2)} ms, ${row.errors} errors`,
  )
  return row
}

async function expectOk(target: string, headers: Record<string, string> = {}) {
  const res = await fetch(target + PAGE_PATH, { headers })
  if (res.status !== 200) throw new Error(`${target}: ${res.status} ${await res.text()}`)
  return res
}

const rows: Row[] = []
try {
  log(`\nload: ${CONNECTIONS} connections, ${DURATION} s per scenario, 127.0.0.1 only`)
  if ((await (await expectOk(ceilingUrl)).text()) !== page)
    throw new Error('ceiling serves other bytes')
  rows.push(await load('ceiling (constant page)', ceilingUrl))

  await expectOk(gatewayUrl, auth)
  const warm = await expectOk(gatewayUrl, auth)
  if ((await warm.text()) !== page) throw new Error('gateway serves other bytes')
  rows.push(await load('hot hit (memory tier)', gatewayUrl, { headers: auth }))

  // A second ceiling, for reference: the same bytes with the same headers a hot hit sends (security,
  // cache, rate-limit, request id) as constants, to show what the headers alone cost.
  const headers = [...warm.headers].filter(([name]) => name !== 'content-length')
  const withHeaders = new Miniflare(
    convertV4MiniflareOptions({
      workers: [
        {
          name: 'ceiling-with-headers',
          modules: true,
          script: `const PAGE = ${JSON.stringify(page)}
const HEADERS = ${JSON.stringify(headers)}
export default { fetch() { return new Response(PAGE, { headers: HEADERS }) } }`,
          compatibilityDate,
          unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
        },
      ],
    }),
  )
  await withHeaders.ready
  pinCores()
  const headersUrl = (await withHeaders.unsafeGetDirectURL('ceiling-with-headers'))
    .toString()
    .replace(/\/$/, '')
  rows.push(await load(`ceiling + the hot hit's ${headers.length} headers`, headersUrl))
  await withHeaders.dispose()

  await expectOk(kvOnlyUrl, auth)
  rows.push(await load('hit from KV alone', kvOnlyUrl, { headers: auth }))

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
  const beforeMiss = (await simStats()).listRequests
  const miss = await load(`miss via simulator (${UPSTREAM_LATENCY_MS} ms)`, gatewayUrl, {
    headers: auth,
    paths: missPaths,
  })
  // Let calls still under way when the load stopped finish before counting.
  await new Promise((r) => setTimeout(r, 500))
  miss.note = `${(await simStats()).listRequests - beforeMiss} upstream calls for ${miss.requests} requests`
  rows.push(miss)

  // A cold burst: 50 at once on a page nobody has fetched.
  const before = (await simStats()).listRequests
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
  const upstreamCalls = (await simStats()).listRequests - before
  rows.push({
    scenario: 'cold burst, 50 concurrent',
    connections: 50,
    requests: 50,
    rps: 50 / (burstMs / 1000),
    p50: Number.NaN,
    p99: burstMs,
    errors: burst.filter((r) => r.status !== 200).length,
    note: `${upstreamCalls} upstream call(s); ${burst.filter((r) => r.cache?.includes('collapsed')).length} collapsed`,
  })
  log(
    `  cold burst: ${upstreamCalls} upstream call(s) for 50 requests, all answered in ${burstMs.toFixed(0)} ms`,
  )

  // The official SDK walking every group: through the warm gateway, and straight at the simulator.
  async function walk(baseURL: string, key: string): Promise<{ ms: number; groups: number }> {
    const client = new OpenAI({ baseURL, adminAPIKey: key, maxRetries: 0 })
    const started = performance.now()
    let groups = 0
    for await (const _ of client.admin.organization.groups.list({ limit: 100 })) groups++
    return { ms: performance.now() - started, groups }
  }
  await walk(`${gatewayUrl}/v1`, partnerKey) // warms every page
  const viaGateway = await walk(`${gatewayUrl}/v1`, partnerKey)
  const direct = await walk(simulatorUrl, SIMULATOR_ADMIN_KEY)
  for (const [scenario, w] of [
    [`SDK walk, ${GROUPS} groups, via warm gateway`, viaGateway],
    [`SDK walk, ${GROUPS} groups, straight at simulator`, direct],
  ] as const) {
    if (w.groups !== GROUPS) throw new Error(`${scenario}: saw ${w.groups} groups`)
    rows.push({
      scenario,
      connections: 1,
      requests: GROUPS / 100,
      rps: GROUPS / 100 / (w.ms / 1000),
      p50: Number.NaN,
      p99: Number.NaN,
      errors: 0,
      note: `${(w.ms / 1000).toFixed(2)} s for ${GROUPS / 100} pages`,
    })
    log(`  ${scenario}: ${(w.ms / 1000).toFixed(2)} s`)
  }
} finally {
  await mf.dispose()
  simulator.kill('SIGTERM')
}

// --- 5. results ---
const ceiling = rows[0] as Row
const hot = rows[1] as Row
const kvOnly = rows[3] as Row
const [walkGateway, walkDirect] = rows.slice(-2) as [Row, Row]
const targets = [
  {
    target: 'hot hit >= 0.9x ceiling req/s',
    ok: hot.rps >= 0.9 * ceiling.rps,
    value: `${(hot.rps / ceiling.rps).toFixed(2)}x`,
  },
  {
    target: 'hot hit p99 <= 1.25x ceiling p99',
    ok: hot.p99 <= 1.25 * ceiling.p99,
    value: `${(hot.p99 / ceiling.p99).toFixed(2)}x`,
  },
  {
    target: 'KV-only hit >= 0.6x ceiling req/s',
    ok: kvOnly.rps >= 0.6 * ceiling.rps,
    value: `${(kvOnly.rps / ceiling.rps).toFixed(2)}x`,
  },
  {
    target: 'bundle <= 100 KiB gzip (minified)',
    ok: bundleKiB.gzip <= 100,
    value: `${bundleKiB.gzip.toFixed(1)} KiB`,
  },
  {
    target: 'SDK walk via warm gateway no slower than straight',
    ok: walkGateway.rps >= walkDirect.rps,
    value: `${(walkGateway.rps / walkDirect.rps).toFixed(1)}x faster`,
  },
]
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '')
const ratio = (n: number, of: number) =>
  Number.isFinite(n) && Number.isFinite(of) ? `${(n / of).toFixed(2)}x` : ''
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`
const md = [
  `# Benchmark: ${new Date().toISOString()}`,
  '',
  `Machine: ${machine}. Load: autocannon from a separate process, ${CONNECTIONS} connections, ${DURATION} s per scenario, 127.0.0.1 only. Workers run in workerd through Miniflare's direct sockets, from the minified deploy bundle (${fmt(bundleKiB.raw, 1)} KiB raw, ${fmt(bundleKiB.gzip, 1)} KiB gzip). Upstream: the simulator with ${GROUPS} groups and ${UPSTREAM_LATENCY_MS} ms latency. Pages: \`limit=100\` (${(page.length / 1024).toFixed(1)} KiB).`,
  '',
  '| scenario | conns | req/s | vs ceiling | p50 ms | p99 ms | p99 vs ceiling | errors | note |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ...rows.map(
    (r) =>
      `| ${r.scenario} | ${r.connections} | ${fmt(r.rps, 0)} | ${ratio(r.rps, ceiling.rps)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${/^(ceiling|hot|hit)/.test(r.scenario) ? ratio(r.p99, ceiling.p99) : ''} | ${r.errors} | ${r.note ?? ''} |`,
  ),
  '',
  '| target | result | |',
  '| --- | --- | --- |',
  ...targets.map((t) => `| ${t.target} | ${t.value} | ${t.ok ? 'met' : 'NOT met'} |`),
  '',
]
mkdirSync('bench/results', { recursive: true })
writeFileSync('bench/results/latest.md', md.join('\n'))
writeFileSync(
  'bench/results/latest.json',
  `${JSON.stringify({ date: new Date().toISOString(), machine, connections: CONNECTIONS, durationSeconds: DURATION, groups: GROUPS, upstreamLatencyMs: UPSTREAM_LATENCY_MS, bundleKiB, rows, targets }, null, 2)}\n`,
)
log(`\n${md.join('\n')}`)
log('written: bench/results/latest.md, bench/results/latest.json')
process.exit(0)
