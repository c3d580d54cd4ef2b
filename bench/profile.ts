// `npm run bench -- --profile`: where a cached hit's CPU goes. The unminified deploy bundle runs in
// workerd through Miniflare with its inspector on; while a bounded load of cached hits runs (from
// a separate autocannon process, 127.0.0.1 only), V8's sampling profiler records the gateway's
// isolate. Prints the top functions by self time, per request, and writes the `.cpuprofile` to
// bench/.results/ (ignored) for DevTools.
//
// PROFILE_DURATION (seconds of load, default 8), PROFILE_LIMIT (the page's `limit`, default 20),
// PROFILE_MEMORY (1: hot hits from the isolate's memory, the default; 0: KV hits), PROFILE_TOP (20).
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { convertV4MiniflareOptions, Miniflare } from 'miniflare'
import { envIntegers } from '../scripts/cli'
import { OFFLINE_ENV, WRANGLER } from '../scripts/wrangler'
import { startSimulatorServer } from '../simulator/server'
import { addPartner, gatewayWorker } from './gateway'
import { cpuUs, workerdsOf } from './proc'
import { type CpuProfile, openInspector } from './startup'

const setting = envIntegers('npm run bench -- --profile')
const DURATION = setting('PROFILE_DURATION', 8, 1, 120)
const LIMIT = setting('PROFILE_LIMIT', 20, 0, 1000)
const MEMORY = setting('PROFILE_MEMORY', 1, 0, 1) === 1
const TOP = setting('PROFILE_TOP', 20, 1, 200)
const BUILD_DIR = 'bench/.build/profile'
const OUT_DIR = 'bench/.results'
const PATH = `/v1/organization/groups?limit=${LIMIT}`

// Unminified, so the profile names our functions; otherwise as `wrangler deploy` bundles it.
const build = spawnSync(
  process.execPath,
  [WRANGLER, 'deploy', '--dry-run', '--outdir', BUILD_DIR],
  { encoding: 'utf8', env: { ...process.env, ...OFFLINE_ENV } },
)
if (build.status !== 0) throw new Error(build.stderr || build.stdout)
const simulator = await startSimulatorServer({ port: 0, groups: 2_000, latencyMs: 0 })
const mf = new Miniflare(
  convertV4MiniflareOptions({
    inspectorPort: 0,
    handleStructuredLogs: () => {},
    workers: [
      gatewayWorker('gateway', {
        scriptPath: `${BUILD_DIR}/index.js`,
        upstreamUrl: simulator.baseUrl,
        vars: MEMORY ? {} : { MEMORY_CACHE_MAX_ENTRIES: '0' },
      }),
    ],
  }),
)
try {
  const target = (await mf.unsafeGetDirectURL('gateway')).toString().replace(/\/$/, '')
  const key = await addPartner(mf, 'profile', ['gateway'])
  const headers = { authorization: `Bearer ${key}` }
  for (let i = 0; i < 2; i++) {
    const res = await fetch(target + PATH, { headers })
    await res.text()
    if (res.status !== 200) throw new Error(`warm-up: ${res.status}`)
  }

  const { send, close } = await openInspector(mf, 'gateway')
  await send('Profiler.enable')
  await send('Profiler.setSamplingInterval', { interval: 50 })

  const loadFile = `${BUILD_DIR}/load.json`
  writeFileSync(
    loadFile,
    JSON.stringify({
      url: target + PATH,
      connections: 16,
      duration: DURATION,
      headers,
      label: 'load',
    }),
  )
  // Warm the JIT before recording.
  await runLoad(loadFile)
  // workerd's own CPU time over an unprofiled run: what the profiler's sampling does not add.
  const workerds = workerdsOf(process.pid)
  const before = cpuUs(workerds)
  const plain = await runLoad(loadFile)
  const processUs = (cpuUs(workerds) - before) / plain.requests
  await send('Profiler.start')
  const run = await runLoad(loadFile)
  const { profile } = (await send('Profiler.stop')) as { profile: CpuProfile }
  close()

  mkdirSync(OUT_DIR, { recursive: true })
  const file = `${OUT_DIR}/hit-${MEMORY ? 'memory' : 'kv'}-limit${LIMIT}.cpuprofile`
  writeFileSync(file, JSON.stringify(profile))
  console.log(
    `${MEMORY ? 'hot' : 'KV'} hits at limit=${LIMIT}: ${run.requests} requests in ${DURATION} s (${run.rps.toFixed(0)} req/s profiled, ${plain.rps.toFixed(0)} not); workerd CPU ${processUs.toFixed(0)} µs per request (unprofiled run); profile: ${file}`,
  )
  console.log(table(profile, run.requests, TOP))
} finally {
  await mf.dispose()
  await simulator.close()
}

/** The top functions by self time, as µs per request, with their share of the busy time. */
function table(profile: CpuProfile, requests: number, top: number): string {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]))
  const self = new Map<string, number>()
  const deltas = profile.timeDeltas ?? []
  ;(profile.samples ?? []).forEach((node, i) => {
    const f = frames.get(node)
    if (!f) return
    const where = f.url ? ` ${f.url.split('/').pop()}:${f.lineNumber + 1}` : ''
    const name = `${f.functionName || '(anonymous)'}${where}`
    self.set(name, (self.get(name) ?? 0) + (deltas[i] ?? 0))
  })
  const busy = [...self].filter(([n]) => n !== '(idle)').reduce((t, [, us]) => t + us, 0)
  const rows = [...self]
    .filter(([n]) => n !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(
      ([name, us]) =>
        `| ${name} | ${(us / requests).toFixed(1)} | ${((100 * us) / busy).toFixed(1)} % |`,
    )
  return [
    `busy (not idle): ${(busy / requests).toFixed(0)} µs per request`,
    '| function (self time) | µs per request | share of busy |',
    '| --- | ---: | ---: |',
    ...rows,
  ].join('\n')
}

function runLoad(file: string): Promise<{ requests: number; rps: number }> {
  const child = spawn(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'bench/load.ts', file], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d
  })
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load failed (${code})`)),
    ),
  )
}
