// `npm run bench`: the deploy bundle, run directly in workerd through Miniflare's API (never
// `wrangler dev`, whose proxy hides the difference), beside two baselines with the same observable
// effects per request (the same status, headers and body bytes; the same rate-limit binding call;
// the same KV read for a KV hit; the very log line a gateway hit writes; the same Analytics Engine
// data point): a **ceiling**, a minimal hand-written worker, and a **floor** (bench/floor.ts), the
// same route declared with @hono/zod-openapi on the gateway's own schemas, so it pays for the
// framework and the query's validation and nothing else.
// The three are measured in alternation, A-B-C-C-B-A then C-B-A-A-B-C, round after round, per page
// size, and compared by the median. Start-up: the gateway's upload and the floor's, started
// alternately as `wrangler check startup` starts them (bench/startup.ts: its method, sampled finer),
// many times, compared by the median of their active CPU; `wrangler check startup` itself too.
// Load comes from autocannon in a child process, on 127.0.0.1 only, for a bounded time; every
// port is picked free. Builds, profiles and load files go to bench/.build/, results to
// bench/.results/ (both ignored); `--snapshot` also writes the committed bench/results/latest.*.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { SourceMap, type SourceMapPayload, type SourceMapping } from 'node:module'
import { cpus, totalmem } from 'node:os'
import { gzipSync } from 'node:zlib'
import { convertV4MiniflareOptions, Miniflare } from 'miniflare'
import OpenAI from 'openai'
import { envIntegers, integer, readArgs } from '../scripts/cli'
import { OFFLINE_ENV, WRANGLER } from '../scripts/wrangler'
import { startSimulatorServer } from '../simulator/server'
import { SIMULATOR_ADMIN_KEY } from '../simulator/upstream'
import { ceilingSource } from './ceiling'
import {
  addPartner,
  BENCH_RATE_LIMIT,
  bundleLikeWrangler,
  gatewayWorker,
  wranglerAliases,
  wranglerTopLevel,
} from './gateway'
import { buildLoadScript } from './load-script'
import { cpuUs, workerdsOf } from './proc'
import { type CpuProfile, profileStartup, SAMPLING_US, startupWorker, uploadForm } from './startup'
import { median } from './stats'

const HELP = `usage: npm run bench [-- --snapshot | --pairs | --startup | --profile | --pipeline | --together]

The gateway's deploy bundle in workerd beside a framework floor and a hand-written ceiling, in
A-B-C-C-B-A rounds per page size, and its start-up beside the floor's (see docs/benchmarks.md).
  --snapshot   also write the committed bench/results/latest.{md,json}
  --pairs      only the gateway-floor-ceiling rounds
  --startup    only the build: the bundle's size and the start-up CPU against the floor's
  --profile    only a CPU profile of the gateway's cached hits: where a request's time goes
  --pipeline   only the JavaScript of a hot hit on each side, rate-limit bindings stubbed: CPU per
               run of the handler, many runs a request (finer than the rounds above resolve)
  --together   only CPU per hot hit, the three sides under load at the same time on one core, so
               the machine's drift between rounds hits them alike

Environment: BENCH_DURATION (seconds per side per round, 4), BENCH_ROUNDS (15; half as many for a
size with no target), BENCH_SIZES (page sizes, 20,100,1000), BENCH_CONNECTIONS (16),
BENCH_GROUPS (10000), BENCH_UPSTREAM_LATENCY_MS (30), BENCH_STARTUP_RUNS (251 a side),
BENCH_WRANGLER_STARTUP_RUNS (9 a side);
for --profile, PROFILE_DURATION (8), PROFILE_LIMIT (20), PROFILE_MEMORY (1; 0: KV hits), PROFILE_TOP (20);
for --pipeline, PIPELINE_LIMIT (20), PIPELINE_ROUNDS (16), PIPELINE_REPEAT (200), PIPELINE_REQUESTS (6);
for --together, TOGETHER_SIZES (20,100), TOGETHER_ROUNDS (12), TOGETHER_DURATION (4), TOGETHER_CONNECTIONS (8).`

const { values: flags } = await (async () => {
  try {
    return readArgs({
      name: 'npm run bench',
      help: HELP,
      options: {
        snapshot: { type: 'boolean' },
        pairs: { type: 'boolean' },
        startup: { type: 'boolean' },
        profile: { type: 'boolean' },
        pipeline: { type: 'boolean' },
        together: { type: 'boolean' },
      },
    })
  } catch (err) {
    console.error(`npm run bench: ${(err as Error).message} (see npm run bench -- --help)`)
    process.exit(2)
  }
})()
if (flags.profile) {
  await import('./profile')
  process.exit(0)
}
if (flags.pipeline) {
  await import('./pipeline')
  process.exit(0)
}
if (flags.together) {
  await import('./together')
  process.exit(0)
}
const fail = (message: string): never => {
  console.error(`npm run bench: ${message}`)
  process.exit(2)
}
const setting = envIntegers('npm run bench')
const DURATION = setting('BENCH_DURATION', 4, 1, 600)
const ROUNDS = setting('BENCH_ROUNDS', 15, 1, 50)
const CONNECTIONS = setting('BENCH_CONNECTIONS', 16, 1, 1000)
const GROUPS = setting('BENCH_GROUPS', 10_000, 1, 1_000_000)
const UPSTREAM_LATENCY_MS = setting('BENCH_UPSTREAM_LATENCY_MS', 30, 0, 10_000)
const STARTUP_RUNS = setting('BENCH_STARTUP_RUNS', 251, 1, 9999)
const WRANGLER_STARTUP_RUNS = setting('BENCH_WRANGLER_STARTUP_RUNS', 9, 1, 99)
/** The page sizes (`limit`) of the cached scenarios; the targets hold at TARGET_SIZES. */
const SIZES = [
  ...new Set(
    (process.env.BENCH_SIZES ?? '20,100,1000').split(',').map((s) => {
      try {
        return integer('BENCH_SIZES', s.trim(), 1, 1000)
      } catch (err) {
        return fail(`${(err as Error).message} (a comma-separated list)`)
      }
    }),
  ),
].sort((a, b) => a - b)
const TARGET_SIZES = [20, 100]
/** A size with no target gives figures only: half the rounds keep the run's time bounded. */
const roundsFor = (size: number) => (TARGET_SIZES.includes(size) ? ROUNDS : Math.ceil(ROUNDS / 2))
const SNAPSHOT = flags.snapshot === true
/** `--pairs` and `--startup` each pick one part; with neither, everything runs. */
const RUN_PAIRS = flags.startup !== true || flags.pairs === true
const RUN_STARTUP = flags.pairs !== true || flags.startup === true
const RUN_REST = flags.pairs !== true && flags.startup !== true
const BUILD_DIR = 'bench/.build'
const OUT_DIR = 'bench/.results'
const ROUTE = '/v1/organization/groups'
const pagePath = (limit: number) => `${ROUTE}?limit=${limit}`
const PARTNER = 'bench'
/** The return-after-the-stale-window scenario's windows (s): they pass in seconds, not minutes. */
const RETURN_TTL_SECONDS = 8
const RETURN_SWR_SECONDS = 4
const WARM_UP_SECONDS = 2
const TOP_ENTRIES = 15
/** Of our own functions at start-up, how many the results show. */
const OWN_ENTRIES = 8

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
/**
 * How sure a ratio of medians is: the 5th and 95th percentiles of the ratio over 2,000 resamplings
 * of each side's runs (a percentile bootstrap), with a fixed seed so a run's report is repeatable.
 */
function ratioInterval(a: number[], b: number[]): [number, number] {
  let seed = 0x2f6b_1c3d
  const random = () => {
    seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0
    return seed / 2 ** 32
  }
  const resample = (xs: number[]) => xs.map(() => xs[Math.floor(random() * xs.length)] as number)
  const ratios = Array.from({ length: 2_000 }, () => median(resample(a)) / median(resample(b)))
  ratios.sort((x, y) => x - y)
  return [ratios[100] as number, ratios[1_899] as number]
}
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '')
// biome-ignore lint/suspicious/noControlCharactersInRegex: wrangler colours its output even in a pipe
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '')

// The time this run will take, roughly: the load's own time, and what the rest took here.
{
  const triples = SIZES.reduce((n, size) => n + 2 * roundsFor(size), 0)
  const perLoad = 0.5 // a load process's own start and end
  const seconds =
    10 +
    (RUN_PAIRS
      ? 15 +
        SIZES.length * 2 * 3 * (WARM_UP_SECONDS + perLoad) +
        triples * 6 * (DURATION / 2 + perLoad)
      : 0) +
    (RUN_STARTUP ? 5 + 2 * STARTUP_RUNS * 0.4 + 2 * WRANGLER_STARTUP_RUNS * 2.2 : 0) +
    (RUN_REST ? 2 * (DURATION + perLoad) + 45 : 0)
  log(
    `npm run bench: about ${Math.ceil(seconds / 60)} min (page sizes ${SIZES.join(', ')}; rounds: ${ROUNDS} of ${DURATION} s a side, ${Math.ceil(ROUNDS / 2)} for sizes with no target)`,
  )
}

// --- 1. the bundle, exactly as `wrangler deploy --minify` would upload it ---
mkdirSync(BUILD_DIR, { recursive: true })
const wranglerConfig = readFileSync('wrangler.toml', 'utf8')
const { topLevel, compatibilityDate, compatibilityFlags } = wranglerTopLevel(wranglerConfig)
const keepNames = /^keep_names\s*=\s*false/m.test(topLevel) ? 'false' : 'true'
/** wrangler.toml's `[alias]` table: the floor is bundled with the same. */
const aliases = wranglerAliases(wranglerConfig)

/** `wrangler deploy --dry-run --minify --outfile`: the upload as wrangler would send it. */
function wranglerBuild(outfile: string, config?: string): void {
  const result = spawnSync(
    process.execPath,
    [
      WRANGLER,
      'deploy',
      '--dry-run',
      '--minify',
      ...(config ? ['-c', config] : []),
      '--outfile',
      outfile,
    ],
    { encoding: 'utf8', env: { ...process.env, ...OFFLINE_ENV } },
  )
  if (result.status !== 0) throw new Error(plain(result.stderr || result.stdout))
}

log('building the deploy bundle (wrangler deploy --dry-run --minify)...')
const GATEWAY_UPLOAD = `${BUILD_DIR}/gateway.bundle`
wranglerBuild(GATEWAY_UPLOAD)
const gatewayForm = await uploadForm(GATEWAY_UPLOAD)
const mainModule = (JSON.parse(String(gatewayForm.get('metadata'))) as { main_module: string })
  .main_module
const partBytes = async (name: string) => {
  const part = gatewayForm.get(name)
  return part instanceof Blob ? Buffer.from(await part.arrayBuffer()) : undefined
}
const bundle = await partBytes(mainModule)
if (!bundle) throw new Error(`the upload has no ${mainModule}`)
writeFileSync(`${BUILD_DIR}/index.js`, bundle)
const bundleMap = await partBytes(`${mainModule}.map`)
const bundleKiB = { raw: bundle.length / 1024, gzip: gzipSync(bundle).length / 1024 }
log(`bundle: ${bundleKiB.raw.toFixed(1)} KiB raw, ${bundleKiB.gzip.toFixed(1)} KiB gzip`)

/** esbuild as wrangler runs it (bench/floor.ts's FLOOR_* constants defined), into bench/.build. */
async function buildFloor(outfile: string, define: Record<string, string>): Promise<void> {
  await bundleLikeWrangler('bench/floor.ts', outfile, define)
}

// --- 2. start-up: the gateway's upload and the floor's, each as wrangler builds it ---
interface TopEntry {
  fn: string
  where: string
  source: string
  ms: number
  share: number
}
interface Startup {
  /** Active CPU (ms) of each start-up, sampled every SAMPLING_US. */
  gateway: number[]
  floor: number[]
  gatewayMs: number
  floorMs: number
  ratio: number
  /** The ratio of medians over resampled runs: its 5th and 95th percentiles. */
  interval: [number, number]
  /** `wrangler check startup` itself: its Active figure, each run. */
  wrangler: { gateway: number[]; floor: number[]; ratio: number }
  top: TopEntry[]
  /** Our own functions (src/) by the time spent with them on the stack: theirs and what they call. */
  own: OwnEntry[]
  profile: string
}
interface OwnEntry {
  fn: string
  source: string
  ms: number
  share: number
}
let startup: Startup | undefined

/** One `wrangler check startup` of a prebuilt upload: its active CPU time, in ms. */
function checkStartup(uploadFile: string, outfile: string): number {
  const result = spawnSync(
    process.execPath,
    [WRANGLER, 'check', 'startup', '--worker', uploadFile, '--outfile', outfile],
    { encoding: 'utf8', env: { ...process.env, ...OFFLINE_ENV } },
  )
  const out = plain(`${result.stdout}\n${result.stderr}`)
  const active = /Active: ([\d.]+) ms/.exec(out)?.[1]
  if (result.status !== 0 || active === undefined) {
    throw new Error(`wrangler check startup ${uploadFile} failed:\n${out.trim()}`)
  }
  return Number(active)
}

/**
 * Time with each of our own functions on the stack (inclusive: theirs and all they call), per
 * profile (ms). A function is ours if the bundle's source map places it in `src/`. Self time alone
 * (`topSelfTime`) hides them: registering a route is mostly the framework's code, called by ours.
 */
function ownInclusive(profiles: CpuProfile[], map: SourceMap): OwnEntry[] {
  const total = new Map<string, { fn: string; source: string; us: number }>()
  let active = 0
  for (const profile of profiles) {
    const frames = new Map(profile.nodes.map((n) => [n.id, n]))
    const parent = new Map<number, number>()
    for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id)
    // Each node's function, if ours: its place in `src/` (one source-map lookup per node).
    const own = new Map<number, string | null>()
    const ownAt = (id: number): string | null => {
      let key = own.get(id)
      if (key !== undefined) return key
      key = null
      const frame = frames.get(id)?.callFrame
      if (frame && frame.lineNumber >= 0 && frame.url.split('/').at(-1) === mainModule) {
        const origin = map.findEntry(frame.lineNumber, frame.columnNumber) as Partial<SourceMapping>
        const original = origin.originalSource ?? ''
        // Packages may map to a `src/` of their own: ours is the one outside node_modules.
        const at = original.includes('node_modules/')
          ? undefined
          : /(?:^|\/)(src\/.*)$/.exec(original)?.[1]
        if (at) {
          const source = `${at}:${(origin.originalLine ?? 0) + 1}`
          key = source
          const fn = (origin as { name?: string }).name || frame.functionName
          if (!total.has(key)) total.set(key, { fn, source, us: 0 })
        }
      }
      own.set(id, key)
      return key
    }
    const deltas = profile.timeDeltas ?? []
    for (const [i, sample] of (profile.samples ?? []).entries()) {
      if (frames.get(sample)?.callFrame.functionName === '(idle)') continue
      const us = deltas[i] ?? 0
      active += us
      const seen = new Set<string>()
      for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) {
        const key = ownAt(id)
        if (key === null || seen.has(key)) continue
        seen.add(key)
        const entry = total.get(key)
        if (entry) entry.us += us
      }
    }
  }
  return [...total.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, OWN_ENTRIES)
    .map(({ fn, source, us }) => ({
      fn,
      source,
      ms: us / 1000 / profiles.length,
      share: us / active,
    }))
}

/** Self time by function and place, summed over profiles, per profile (ms); idle time left out. */
function topSelfTime(profiles: CpuProfile[], map: SourceMap | undefined): TopEntry[] {
  const self = new Map<string, { fn: string; where: string; source: string; us: number }>()
  let active = 0
  for (const profile of profiles) {
    const nodes = new Map(profile.nodes.map((n) => [n.id, n.callFrame]))
    const deltas = profile.timeDeltas ?? []
    for (const [i, sample] of (profile.samples ?? []).entries()) {
      const frame = nodes.get(sample)
      if (!frame || frame.functionName === '(idle)') continue
      const us = deltas[i] ?? 0
      active += us
      const at = frame.lineNumber >= 0 ? `:${frame.lineNumber + 1}:${frame.columnNumber + 1}` : ''
      // wrangler's profiler imports the bundle from an entry module named by a random UUID.
      const script = frame.url.split('/').at(-1) ?? ''
      const where = /^[0-9a-f]{8}-[0-9a-f-]{27}$/.test(script)
        ? "wrangler's profiler entry"
        : script + at
      const key = `${frame.functionName}\u0000${where}`
      let entry = self.get(key)
      if (!entry) {
        const inBundle = script === mainModule && frame.lineNumber >= 0
        const origin = (
          map && inBundle ? map.findEntry(frame.lineNumber, frame.columnNumber) : {}
        ) as Partial<SourceMapping>
        const source = origin.originalSource
          ? `${origin.originalSource.replace(/^.*?((?:node_modules|src)\/)/, '$1')}:${(origin.originalLine ?? 0) + 1}`
          : map && inBundle
            ? 'not mapped (the bundler\u2019s own code)'
            : ''
        const fn =
          frame.functionName || (frame.lineNumber < 0 ? '(module top level)' : '(anonymous)')
        entry = { fn, where, source, us: 0 }
        self.set(key, entry)
      }
      entry.us += us
    }
  }
  return [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, TOP_ENTRIES)
    .map(({ fn, where, source, us }) => ({
      fn,
      where,
      source,
      ms: us / 1000 / profiles.length,
      share: us / active,
    }))
}

if (RUN_STARTUP) {
  // The floor's own minimal config: the same date, flags, build settings and aliases as
  // wrangler.toml, the floor's bindings, and no pages.
  const floorConfig = `${BUILD_DIR}/floor-startup.toml`
  writeFileSync(
    floorConfig,
    [
      '# Written by bench/run.ts: the start-up floor, built as wrangler.toml builds the gateway.',
      'name = "bench-floor"',
      'main = "../floor.ts"',
      `compatibility_date = "${compatibilityDate}"`,
      `compatibility_flags = ${JSON.stringify(compatibilityFlags)}`,
      `keep_names = ${keepNames}`,
      '',
      '[define]',
      'FLOOR_KV = "false"',
      `FLOOR_PARTNER = '${JSON.stringify(PARTNER)}'`,
      'FLOOR_PAGES = "[]"',
      '',
      '[alias]',
      ...aliases.map(([from, to]) => `"${from}" = "../../${to.replace(/^\.\//, '')}"`),
      '',
      '[[kv_namespaces]]',
      'binding = "CACHE"',
      '',
      '[[ratelimits]]',
      'name = "RATE_LIMIT"',
      'namespace_id = "2001"',
      'simple = { limit = 1000, period = 60 }',
      '',
      '[[analytics_engine_datasets]]',
      'binding = "USAGE"',
      'dataset = "bench_floor"',
      '',
      '[version_metadata]',
      'binding = "VERSION"',
      '',
    ].join('\n'),
  )
  const FLOOR_UPLOAD = `${BUILD_DIR}/floor-startup.bundle`
  wranglerBuild(FLOOR_UPLOAD, floorConfig)
  const uploads = { gateway: GATEWAY_UPLOAD, floor: FLOOR_UPLOAD }
  type Side = 'gateway' | 'floor'
  const orderOf = (i: number): Side[] => (i % 2 === 0 ? ['gateway', 'floor'] : ['floor', 'gateway'])

  // `wrangler check startup` itself: its Active figure is a sum of about 20 samples of 1-2 ms, so
  // runs of one upload range widely; a figure here, the target below.
  log(`\nstart-up: wrangler check startup, ${WRANGLER_STARTUP_RUNS} runs a side, alternating`)
  const byWrangler = { gateway: [] as number[], floor: [] as number[] }
  const scratch = `${BUILD_DIR}/startup-wrangler.cpuprofile`
  for (let i = 0; i < WRANGLER_STARTUP_RUNS; i++) {
    for (const side of orderOf(i)) byWrangler[side].push(checkStartup(uploads[side], scratch))
    log(
      `  run ${i + 1}: gateway ${byWrangler.gateway[i]} ms, floor ${byWrangler.floor[i]} ms active`,
    )
  }
  rmSync(scratch, { force: true })

  // The target: the same start-up, sampled every SAMPLING_US, many times a side.
  log(
    `start-up: the same, sampled every ${SAMPLING_US} us, ${STARTUP_RUNS} runs a side, alternating`,
  )
  const workers = {
    gateway: await startupWorker(gatewayForm),
    floor: await startupWorker(await uploadForm(FLOOR_UPLOAD)),
  }
  const runs = { gateway: [] as number[], floor: [] as number[] }
  const profiles: CpuProfile[] = []
  for (let i = 0; i < STARTUP_RUNS; i++) {
    for (const side of orderOf(i)) {
      const { ms, profile } = await profileStartup(workers[side])
      runs[side].push(Number(ms.toFixed(2)))
      if (side === 'gateway') profiles.push(profile)
    }
    if ((i + 1) % 25 === 0 || i + 1 === STARTUP_RUNS) {
      log(
        `  ${i + 1}/${STARTUP_RUNS}: medians so far ${median(runs.gateway).toFixed(1)} and ${median(runs.floor).toFixed(1)} ms`,
      )
    }
  }
  const map = bundleMap
    ? new SourceMap(JSON.parse(bundleMap.toString()) as SourceMapPayload)
    : undefined
  const top = topSelfTime(profiles, map)
  const own = map ? ownInclusive(profiles, map) : []
  // Keep the gateway's median run's profile, to open in DevTools.
  const middle =
    runs.gateway.map((ms, i) => ({ ms, i })).sort((a, b) => a.ms - b.ms)[
      Math.floor((STARTUP_RUNS - 1) / 2)
    ]?.i ?? 0
  const kept = `${BUILD_DIR}/startup-gateway.cpuprofile`
  writeFileSync(kept, JSON.stringify(profiles[middle]))
  const gatewayMs = median(runs.gateway)
  const floorMs = median(runs.floor)
  startup = {
    ...runs,
    gatewayMs,
    floorMs,
    ratio: gatewayMs / floorMs,
    interval: ratioInterval(runs.gateway, runs.floor),
    wrangler: {
      ...byWrangler,
      ratio: median(byWrangler.gateway) / median(byWrangler.floor),
    },
    top,
    own,
    profile: kept,
  }
  log(
    `  medians: gateway ${gatewayMs.toFixed(2)} ms, floor ${floorMs.toFixed(2)} ms: ${startup.ratio.toFixed(3)}x (90% interval ${startup.interval.map((r) => r.toFixed(3)).join('-')}); wrangler check startup alone: ${startup.wrangler.ratio.toFixed(2)}x`,
  )
}

// --- 3. the pairs (gateway, floor, ceiling) and the rest ---
type SideName = 'ceiling' | 'floor' | 'gateway'
const SIDES: readonly SideName[] = ['ceiling', 'floor', 'gateway']
interface Side {
  name: string
  url: string
  headers?: Record<string, string>
}
interface Triple {
  scenario: string
  kind: 'hot' | 'kv'
  size: number
  rounds: number
  sides: Record<SideName, Side>
  runs: Record<SideName, Run>[]
}
const triples: Triple[] = []
const rows: Row[] = []
const figures: { figure: string; value: string }[] = []
let burstNote = ''
let burstCalls = Number.NaN
const returns: { scenario: string; calls: number; ms: number; cronCalls: number }[] = []
/** This run's workerd processes: pinned, and the ones whose CPU time is read. */
let workerds: string[] = []

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

/** The CPU time (user + system) this run's workerd processes have used so far, in µs. */
const workerdCpuUs = () => cpuUs(workerds)

/** bench/load.ts, bundled once (its packages left to node_modules): each run starts quicker. */
const LOAD_SCRIPT = `${BUILD_DIR}/load.mjs`
if (RUN_PAIRS || RUN_REST) await buildLoadScript(LOAD_SCRIPT)

/** One load run, from a separate process, against a full URL (`paths` replace its path). */
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
      url: target,
      connections: CONNECTIONS,
      label,
      ...options,
      duration: options.duration ?? DURATION,
    }),
  )
  const cpuBefore = workerdCpuUs()
  const child = spawn(process.execPath, [LOAD_SCRIPT, file], {
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

if (RUN_PAIRS || RUN_REST) {
  // The simulator, with the upstream's latency, on a free port.
  const simulator = await startSimulatorServer({
    port: 0,
    groups: GROUPS,
    latencyMs: UPSTREAM_LATENCY_MS,
    adminKey: SIMULATOR_ADMIN_KEY,
  })
  const simulatorUrl = simulator.baseUrl
  const adminAuth = { Authorization: `Bearer ${SIMULATOR_ADMIN_KEY}` }
  const upstreamCalls = () => simulator.sim.listRequests
  const pages = new Map<number, string>()
  for (const size of SIZES) {
    const res = await fetch(`${simulatorUrl}/organization/groups?limit=${size}`, {
      headers: adminAuth,
    })
    pages.set(size, await res.text())
  }

  // workerd: the gateway, and the gateway with its memory tier off (bench/gateway.ts).
  const gateway = (name: string, vars: Record<string, string>) =>
    gatewayWorker(name, { scriptPath: `${BUILD_DIR}/index.js`, upstreamUrl: simulatorUrl, vars })
  // The log lines workerd hands back: each gateway's line for a cache *hit* on each page is kept,
  // so the baselines write the very line a hit on that page writes (a miss's line is longer).
  const requestLines = new Map<string, string>()
  let currentPage = ''
  const handleStructuredLogs = ({ message }: { message: string }) => {
    if (message.includes('"event":"request"') && message.includes('"cache":"groups-gateway; hit')) {
      requestLines.set(currentPage, message)
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
  let baselines: Miniflare | undefined
  try {
    await mf.ready
    const url = async (m: Miniflare, name: string) =>
      (await m.unsafeGetDirectURL(name)).toString().replace(/\/$/, '')
    const gatewayUrl = await url(mf, 'gateway')
    const kvUrl = await url(mf, 'gateway-kv')
    const partnerKey = await addPartner(mf, PARTNER, [
      'gateway',
      'gateway-kv',
      'walk-cold',
      'walk-prewarm',
    ])
    const auth = { authorization: `Bearer ${partnerKey}` }

    async function expectPage(target: string, size: number, headers: Record<string, string> = {}) {
      const res = await fetch(target + pagePath(size), { headers })
      const body = await res.text()
      if (res.status !== 200) throw new Error(`${target}: ${res.status} ${body}`)
      if (body !== pages.get(size)) throw new Error(`${target} serves other bytes at ${size}`)
      return res
    }
    /** Waits (a few seconds at most) for workerd to hand back the hit line of one page. */
    async function hitLine(key: string): Promise<string> {
      for (let waited = 0; !requestLines.has(key); waited += 10) {
        if (waited > 5_000) throw new Error(`${key} logged no hit line`)
        await new Promise((r) => setTimeout(r, 10))
      }
      return requestLines.get(key) as string
    }

    if (RUN_PAIRS) {
      // Warm both gateways on every page: a miss stores the page, the next request is the hit
      // being measured. What each hit answers and logs is what its baselines answer and log.
      interface Hit {
        headers: [string, string][]
        line: string
        key: string
      }
      const hits = { hot: new Map<number, Hit>(), kv: new Map<number, Hit>() }
      const kvStore = (await mf.getKVNamespace(
        'GROUPS_CACHE',
        'gateway-kv',
      )) as unknown as KVNamespace
      const pageKeys = async () =>
        new Set(
          (await kvStore.list()).keys.map((k) => k.name).filter((k) => k.startsWith('groups:v2')),
        )
      const stored = new Map<string, { value: string; metadata: unknown }>()
      for (const size of SIZES) {
        for (const [kind, target] of [
          ['hot', gatewayUrl],
          ['kv', kvUrl],
        ] as const) {
          const before = await pageKeys()
          currentPage = `${kind}:${size}`
          await expectPage(target, size, auth)
          const hit = await expectPage(target, size, auth)
          const line = await hitLine(currentPage)
          if (!hit.headers.get('cache-status')?.includes('hit')) {
            throw new Error(`no ${kind} hit at ${size}`)
          }
          let key = ''
          if (kind === 'kv') {
            key = [...(await pageKeys())].find((k) => !before.has(k)) ?? ''
            if (!key) throw new Error(`the KV gateway stored no page at ${size}`)
            const { value, metadata } = await kvStore.getWithMetadata(key, 'text')
            stored.set(key, { value: value ?? '', metadata })
          }
          const headers = [...hit.headers].filter(([n]) => n !== 'content-length' && n !== 'date')
          hits[kind].set(size, { headers, line, key })
        }
      }
      currentPage = ''

      // The ceilings: one hand-written worker per scenario and size (bench/ceiling.ts).
      const ceilingScript = (size: number, hit: Hit, readKv: boolean) =>
        `${ceilingSource(
          { ...hit, body: pages.get(size) as string },
          { partner: PARTNER, route: ROUTE, kvKey: readKv ? hit.key : null },
        )}\nexport default ceiling`
      // The floors: bench/floor.ts, one per scenario, serving every size from constants.
      for (const kind of ['hot', 'kv'] as const) {
        const table = SIZES.map((size) => ({
          limit: size,
          body: pages.get(size),
          ...hits[kind].get(size),
        }))
        await buildFloor(`${BUILD_DIR}/floor-${kind}.js`, {
          FLOOR_KV: String(kind === 'kv'),
          FLOOR_PARTNER: JSON.stringify(PARTNER),
          FLOOR_PAGES: JSON.stringify(table),
        })
      }
      const baseline = (name: string, code: { script: string } | { scriptPath: string }) => ({
        name,
        modules: true,
        ...code,
        compatibilityDate,
        compatibilityFlags,
        kvNamespaces: { CACHE: `${name}-cache` },
        analyticsEngineDatasets: { USAGE: { dataset: `${name}-usage` } },
        versionMetadata: 'VERSION',
        ratelimits: { RATE_LIMIT: { namespace_id: '2001', ...BENCH_RATE_LIMIT } },
        unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
      })
      const ceilingName = (kind: string, size: number) => `ceiling-${kind}-${size}`
      baselines = new Miniflare(
        convertV4MiniflareOptions({
          handleStructuredLogs: () => {},
          workers: [
            baseline('floor-hot', { scriptPath: `${BUILD_DIR}/floor-hot.js` }),
            baseline('floor-kv', { scriptPath: `${BUILD_DIR}/floor-kv.js` }),
            ...SIZES.flatMap((size) =>
              (['hot', 'kv'] as const).map((kind) =>
                baseline(ceilingName(kind, size), {
                  script: ceilingScript(size, hits[kind].get(size) as Hit, kind === 'kv'),
                }),
              ),
            ),
          ],
        }),
      )
      await baselines.ready
      const kvBaselines = ['floor-kv', ...SIZES.map((size) => ceilingName('kv', size))]
      for (const name of kvBaselines) {
        const ns = (await baselines.getKVNamespace('CACHE', name)) as unknown as KVNamespace
        for (const [key, { value, metadata }] of stored) await ns.put(key, value, { metadata })
      }
      const floorUrls = {
        hot: await url(baselines, 'floor-hot'),
        kv: await url(baselines, 'floor-kv'),
      }
      for (const size of SIZES) {
        for (const kind of ['hot', 'kv'] as const) {
          const ceilingUrl = await url(baselines, ceilingName(kind, size))
          await expectPage(ceilingUrl, size)
          await expectPage(floorUrls[kind], size)
          const label = `${kind === 'hot' ? 'hot hit' : 'KV hit'}, limit=${size}`
          triples.push({
            scenario: kind === 'hot' ? 'hot hit (memory tier)' : 'KV hit (memory tier off)',
            kind,
            size,
            rounds: roundsFor(size),
            sides: {
              ceiling: { name: `ceiling, ${label}`, url: ceilingUrl + pagePath(size) },
              floor: { name: `floor, ${label}`, url: floorUrls[kind] + pagePath(size) },
              gateway: {
                name: `gateway, ${label}`,
                url: (kind === 'hot' ? gatewayUrl : kvUrl) + pagePath(size),
                headers: auth,
              },
            },
            runs: [],
          })
        }
      }
    }
    workerds = workerdsOf(process.pid)
    pinCores()

    if (RUN_PAIRS) {
      const maxRounds = Math.max(...triples.map((t) => t.rounds))
      log(
        `\nload: ${CONNECTIONS} connections, rounds: up to ${maxRounds}, of ${DURATION} s per side; 127.0.0.1 only`,
      )
      // Untimed warm-up, so no side pays for the JIT.
      for (const t of triples) {
        for (const side of SIDES) {
          const s = t.sides[side]
          await load(`${s.name} (warm-up)`, s.url, {
            headers: s.headers,
            duration: WARM_UP_SECONDS,
          })
        }
      }
      for (let round = 0; round < maxRounds; round++) {
        log(`round ${round + 1} of ${maxRounds}`)
        for (const t of triples.filter((t) => round < t.rounds)) {
          // A B C C B A, then C B A A B C: a drift in the machine's speed during the round (and
          // this one drifts: Miniflare's rate-limit binding writes SQLite) falls on all alike.
          const order: SideName[] =
            round % 2 === 0 ? ['ceiling', 'floor', 'gateway'] : ['gateway', 'floor', 'ceiling']
          const runs: Record<SideName, Run[]> = { ceiling: [], floor: [], gateway: [] }
          for (const side of [...order, ...[...order].reverse()]) {
            const s = t.sides[side]
            runs[side].push(
              await load(s.name, s.url, { headers: s.headers, duration: DURATION / 2 }),
            )
          }
          t.runs.push({
            ceiling: mean(runs.ceiling),
            floor: mean(runs.floor),
            gateway: mean(runs.gateway),
          })
        }
      }
      for (const t of triples) {
        for (const side of SIDES) {
          const runs = t.runs.map((r) => r[side])
          const each = (f: (r: Run) => number, digits: number) =>
            runs.map((r) => fmt(f(r), digits)).join(', ')
          rows.push({
            scenario: t.sides[side].name,
            connections: CONNECTIONS,
            requests: median(runs.map((r) => r.requests)),
            rps: median(runs.map((r) => r.rps)),
            p50: median(runs.map((r) => r.p50)),
            p99: median(runs.map((r) => r.p99)),
            cpuUs: median(runs.map((r) => r.cpuUs ?? Number.NaN)),
            errors: runs.reduce((n, r) => n + r.errors, 0),
            note: `rounds: ${each((r) => r.rps, 0)} req/s; p50 ${each((r) => r.p50, 2)} ms; p99 ${each((r) => r.p99, 2)} ms; CPU ${each((r) => r.cpuUs ?? Number.NaN, 0)} µs/request`,
          })
        }
      }
    }

    if (RUN_REST) {
      // Every request a page no one asked for yet: its own cursor, through the simulator's latency.
      const ids = (
        (await (
          await fetch(`${simulatorUrl}/organization/groups?limit=1000`, { headers: adminAuth })
        ).json()) as { data: { id: string }[] }
      ).data.map((g) => g.id)
      const missPaths = Array.from(
        { length: 20_000 },
        (_, i) => `${ROUTE}?limit=${1 + Math.floor(i / ids.length)}&after=${ids[i % ids.length]}`,
      )
      const beforeMiss = upstreamCalls()
      const missLabel = `miss via simulator (${UPSTREAM_LATENCY_MS} ms)`
      const miss = await load(missLabel, gatewayUrl + missPaths[0], {
        headers: auth,
        paths: missPaths,
      })
      // Let calls still under way when the load stopped finish before counting.
      await new Promise((r) => setTimeout(r, 500))
      const missCalls = upstreamCalls() - beforeMiss
      rows.push({
        scenario: missLabel,
        connections: CONNECTIONS,
        ...miss,
        // Each miss sent costs one upstream call, answered or not: the load's end cuts off the
        // requests in flight (one per connection), after their calls were made.
        note: `${missCalls} upstream calls for ${miss.sent} requests sent (${miss.requests} answered before the load stopped); ${fmt(miss.cpuUs ?? Number.NaN, 0)} µs CPU/request`,
      })
      // The same load, on the same paths, straight at the simulator: what a miss adds.
      const simulatorOrigin = simulatorUrl.replace(/\/v1$/, '')
      const direct = await load(
        `straight at the simulator (${UPSTREAM_LATENCY_MS} ms)`,
        simulatorOrigin + missPaths[0],
        { headers: adminAuth, paths: missPaths },
      )
      rows.push({
        scenario: `straight at the simulator (${UPSTREAM_LATENCY_MS} ms), the same paths`,
        connections: CONNECTIONS,
        ...direct,
        cpuUs: Number.NaN,
        note: 'no gateway: the latency a miss adds to',
      })
      figures.push(
        {
          figure: `miss: latency added over a direct call (${UPSTREAM_LATENCY_MS} ms upstream)`,
          value: `p50 +${fmt(miss.p50 - direct.p50)} ms, p99 +${fmt(miss.p99 - direct.p99)} ms (${fmt(miss.p50)} / ${fmt(miss.p99)} ms against ${fmt(direct.p50)} / ${fmt(direct.p99)} ms)`,
        },
        {
          figure: 'miss: CPU per request (workerd, the page fetcher included)',
          value: `${fmt(miss.cpuUs ?? Number.NaN, 0)} µs`,
        },
      )

      // A cold burst: 50 at once on a page nobody has fetched.
      const burstLimit = [77, 78, 79, 80].find((n) => !SIZES.includes(n)) as number
      const before = upstreamCalls()
      const burstStarted = performance.now()
      const burst = await Promise.all(
        Array.from({ length: 50 }, () =>
          fetch(`${gatewayUrl}${pagePath(burstLimit)}&order=desc`, { headers: auth }).then(
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

      // The official SDK walking every group: through the warm gateway, and straight at the
      // simulator (whose every page costs its latency: a figure, not a race).
      async function walk(baseURL: string, key: string): Promise<number> {
        const client = new OpenAI({ baseURL, adminAPIKey: key, maxRetries: 0 })
        const started = performance.now()
        let groups = 0
        for await (const _ of client.admin.organization.groups.list({ limit: 100 })) groups++
        if (groups !== GROUPS) throw new Error(`walk via ${baseURL}: saw ${groups} groups`)
        return performance.now() - started
      }
      await walk(`${gatewayUrl}/v1`, partnerKey) // warms every page
      const walkGateway = await walk(`${gatewayUrl}/v1`, partnerKey)
      const walkDirect = await walk(simulatorUrl, SIMULATOR_ADMIN_KEY)

      // A partner that syncs every hour: a walk, then again once the stale window has passed,
      // without and with the pre-warm cron (run once, just before the partner returns).
      const returnUrls = {
        cold: await url(mf, 'walk-cold'),
        prewarm: await url(mf, 'walk-prewarm'),
      }
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
        log(
          `  ${scenario}: ${upstreamCalls() - before} upstream calls, ${(ms / 1000).toFixed(2)} s`,
        )
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
      figures.push({
        figure: `SDK walk of ${GROUPS} groups: via the warm gateway against straight at the simulator (${UPSTREAM_LATENCY_MS} ms a page)`,
        value: `${(walkGateway / 1000).toFixed(2)} s against ${(walkDirect / 1000).toFixed(2)} s (${(walkDirect / walkGateway).toFixed(1)}x)`,
      })
    }
  } finally {
    await baselines?.dispose()
    await mf.dispose()
    await simulator.close()
  }
}

// --- 4. results ---
type Metric = 'rps' | 'p50' | 'p99' | 'cpuUs'
const METRICS: { metric: Metric; label: string; digits: number }[] = [
  { metric: 'rps', label: 'req/s', digits: 0 },
  { metric: 'p50', label: 'p50 ms', digits: 2 },
  { metric: 'p99', label: 'p99 ms', digits: 2 },
  { metric: 'cpuUs', label: 'CPU µs/request', digits: 0 },
]
/** Per scenario, size and metric: each side's median and the medians of the rounds' ratios. */
const comparisons = triples.flatMap((t) =>
  METRICS.map(({ metric, label, digits }) => {
    const of = (r: Run) => r[metric] ?? Number.NaN
    const ratio = (a: SideName, b: SideName) => median(t.runs.map((r) => of(r[a]) / of(r[b])))
    return {
      scenario: t.scenario,
      size: t.size,
      metric: label,
      digits,
      ...Object.fromEntries(SIDES.map((side) => [side, median(t.runs.map((r) => of(r[side])))])),
      gatewayToCeiling: ratio('gateway', 'ceiling'),
      floorToCeiling: ratio('floor', 'ceiling'),
      gatewayToFloor: ratio('gateway', 'floor'),
    } as Record<SideName, number> & {
      scenario: string
      size: number
      metric: string
      digits: number
      gatewayToCeiling: number
      floorToCeiling: number
      gatewayToFloor: number
    }
  }),
)
const ratioOf = (t: Triple, metric: string) =>
  comparisons.find((c) => c.scenario === t.scenario && c.size === t.size && c.metric === metric)
    ?.gatewayToCeiling ?? Number.NaN
const targets = [
  ...triples
    .filter((t) => TARGET_SIZES.includes(t.size))
    .flatMap((t) => {
      const name = `${t.scenario}, limit=${t.size}`
      const rps = ratioOf(t, 'req/s')
      const p99 = ratioOf(t, 'p99 ms')
      const cpu = ratioOf(t, 'CPU µs/request')
      // Three decimals: at two, 0.9198 reads as 0.92x and NOT met.
      return [
        {
          target: `${name}: req/s >= 0.92x its ceiling`,
          ok: rps >= 0.92,
          value: `${fmt(rps, 3)}x`,
        },
        { target: `${name}: p99 <= 1.15x its ceiling`, ok: p99 <= 1.15, value: `${fmt(p99, 3)}x` },
        {
          target: `${name}: CPU per request <= 1.10x its ceiling`,
          ok: cpu <= 1.1,
          value: `${fmt(cpu, 3)}x`,
        },
      ]
    }),
  ...(RUN_REST
    ? [
        { target: 'cold burst of 50: one upstream call', ok: burstCalls === 1, value: burstNote },
        {
          target: 'pre-warm: the return walk makes fewer upstream calls, and is faster',
          ok:
            returns.length === 2 &&
            (returns[1]?.calls ?? 0) < (returns[0]?.calls ?? 0) &&
            (returns[1]?.ms ?? 0) < (returns[0]?.ms ?? 0),
          value: returns
            .map((r) => `${r.calls} calls / ${(r.ms / 1000).toFixed(2)} s`)
            .join(' vs '),
        },
      ]
    : []),
  {
    target: 'bundle <= 80 KiB gzip (minified)',
    ok: bundleKiB.gzip <= 80,
    value: `${bundleKiB.gzip.toFixed(1)} KiB`,
  },
  ...(startup
    ? [
        {
          target: 'start-up active CPU <= 1.05x the floor',
          ok: startup.ratio <= 1.05,
          value: `${startup.ratio.toFixed(3)}x (${startup.gatewayMs.toFixed(1)} ms against ${startup.floorMs.toFixed(1)} ms, medians of ${STARTUP_RUNS} start-ups a side sampled every ${SAMPLING_US} us; 90% interval ${startup.interval.map((r) => r.toFixed(2)).join('-')}x)`,
        },
      ]
    : []),
]
if (startup) {
  const { wrangler } = startup
  figures.push({
    figure: `start-up active CPU, \`wrangler check startup\` itself (its default sampling; median of ${WRANGLER_STARTUP_RUNS} a side)`,
    value: `${wrangler.ratio.toFixed(2)}x: gateway ${median(wrangler.gateway).toFixed(1)} ms (${wrangler.gateway.join(', ')}); floor ${median(wrangler.floor).toFixed(1)} ms (${wrangler.floor.join(', ')})`,
  })
  const quartiles = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b)
    return [0.25, 0.75]
      .map((q) => sorted[Math.floor(q * (sorted.length - 1))]?.toFixed(1))
      .join('-')
  }
  figures.push({
    figure: `start-up active CPU, sampled every ${SAMPLING_US} us (${STARTUP_RUNS} a side; each run's figure in the JSON)`,
    value: `gateway median ${startup.gatewayMs.toFixed(2)} ms (quartiles ${quartiles(startup.gateway)}); floor ${startup.floorMs.toFixed(2)} ms (${quartiles(startup.floor)})`,
  })
}
const pct = (n: number) => `${(n * 100).toFixed(0)}%`
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${process.platform}, Node ${process.version}`
const parts = [RUN_PAIRS && 'pairs', RUN_STARTUP && 'start-up', RUN_REST && 'the rest']
const md = [
  `# Benchmark: ${new Date().toISOString()}`,
  '',
  `Machine: ${machine}. Parts run: ${parts.filter(Boolean).join(', ')}. Bundle: the minified deploy bundle, ${fmt(bundleKiB.raw, 1)} KiB raw, ${fmt(bundleKiB.gzip, 1)} KiB gzip.`,
  '',
  ...(RUN_PAIRS || RUN_REST
    ? [
        `Load: autocannon from a separate process, ${CONNECTIONS} connections, 127.0.0.1 only; rounds of ${DURATION} s per side (${ROUNDS} at limit=${TARGET_SIZES.join(' and ')}, ${Math.ceil(ROUNDS / 2)} at other sizes), each in A-B-C-C-B-A or C-B-A-A-B-C order, halves averaged, medians of rounds shown. Workers run in workerd (pinned to one core) through Miniflare's direct sockets. The ceiling and the floor (bench/floor.ts: the same route on @hono/zod-openapi, the query validated) each ask the rate-limit binding, read KV where the gateway does, write the log line a gateway hit on that page writes, make a fresh request id, and answer the gateway's status, headers and body bytes (encoded once). CPU is workerd's own (/proc), per answered request: on this machine most of it, on every side, is Miniflare's local rate-limit binding (SQLite). Upstream: the simulator with ${GROUPS} groups and ${UPSTREAM_LATENCY_MS} ms latency. Pages: ${SIZES.map((s) => `limit=${s}`).join(', ')}.`,
        '',
        '| scenario | conns | req/s | p50 ms | p99 ms | CPU µs/request | errors | note |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
        ...rows.map(
          (r) =>
            `| ${r.scenario} | ${r.connections} | ${fmt(r.rps, 0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.cpuUs ?? Number.NaN, 0)} | ${r.errors} | ${r.note ?? ''} |`,
        ),
        '',
      ]
    : []),
  ...(comparisons.length
    ? [
        '| scenario | page | figure | gateway | floor | ceiling | gateway / ceiling | floor / ceiling | gateway / floor |',
        '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...comparisons.map(
          (c) =>
            `| ${c.scenario} | limit=${c.size} | ${c.metric} | ${fmt(c.gateway, c.digits)} | ${fmt(c.floor, c.digits)} | ${fmt(c.ceiling, c.digits)} | ${fmt(c.gatewayToCeiling)}x | ${fmt(c.floorToCeiling)}x | ${fmt(c.gatewayToFloor)}x |`,
        ),
        '',
        'Ratios are medians of the rounds\u2019 own ratios.',
        '',
      ]
    : []),
  ...(figures.length
    ? [
        '| figure | value |',
        '| --- | --- |',
        ...figures.map((f) => `| ${f.figure} | ${f.value} |`),
        '',
      ]
    : []),
  ...(startup
    ? [
        `Start-up, the gateway's top ${TOP_ENTRIES} by self time (idle left out), summed over its ${STARTUP_RUNS} profiles (sampled every ${SAMPLING_US} us) and shown per start-up; its median run's profile: \`${startup.profile}\`.`,
        '',
        '| function | in the bundle | source | ms per start-up | share of active |',
        '| --- | --- | --- | ---: | ---: |',
        ...startup.top.map(
          (e) =>
            `| \`${e.fn}\` | ${e.where} | ${e.source} | ${e.ms.toFixed(2)} | ${pct(e.share)} |`,
        ),
        '',
        `Start-up, the gateway's own functions (\`src/\`, by the source map) by the time they are on the stack: their own and everything they call, the framework's code included; the top ${OWN_ENTRIES}, per start-up.`,
        '',
        '| function | source | ms per start-up | share of active |',
        '| --- | --- | ---: | ---: |',
        ...startup.own.map(
          (e) => `| \`${e.fn}\` | ${e.source} | ${e.ms.toFixed(2)} | ${pct(e.share)} |`,
        ),
        '',
      ]
    : []),
  '| target | result | |',
  '| --- | --- | --- |',
  ...targets.map((t) => `| ${t.target} | ${t.value} | ${t.ok ? 'met' : 'NOT met'} |`),
  '',
]
const json = `${JSON.stringify(
  {
    date: new Date().toISOString(),
    machine,
    parts: parts.filter(Boolean),
    connections: CONNECTIONS,
    durationSeconds: DURATION,
    rounds: ROUNDS,
    sizes: SIZES,
    groups: GROUPS,
    upstreamLatencyMs: UPSTREAM_LATENCY_MS,
    bundleKiB,
    rows,
    comparisons,
    figures,
    startup,
    targets,
  },
  null,
  2,
)}\n`
const dirs = SNAPSHOT ? [OUT_DIR, 'bench/results'] : [OUT_DIR]
for (const dir of dirs) {
  mkdirSync(dir, { recursive: true })
  writeFileSync(`${dir}/latest.md`, md.join('\n'))
  writeFileSync(`${dir}/latest.json`, json)
}
log(`\n${md.join('\n')}`)
log(`written: ${dirs.map((d) => `${d}/latest.{md,json}`).join(', ')}`)
process.exit(0)
