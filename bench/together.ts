// `npm run bench -- --together`: CPU per hot hit on each side, with the machine's noise taken out.
// The load rounds run one side at a time, and on this kind of VM the CPU a request takes drifts
// between rounds by up to 2x, more than the margins of the CPU targets. Here the ceiling, the floor
// and the gateway (the deploy bundle, as `wrangler deploy --dry-run --minify` builds it) each run in
// a workerd of their own, all pinned to one core, and take the same load at the same time (one
// autocannon process each, on the other core): whatever the machine does to one side's speed it
// does to the others'. CPU per request is each workerd's own (/proc), per answered request; the
// ratios are each round's own, their medians shown. Latency means nothing here (three sides share
// one core), so none is reported. Real rate-limit bindings, as in the load rounds.
//
// TOGETHER_SIZES (page sizes, 20,100), TOGETHER_ROUNDS (12 per size), TOGETHER_DURATION (seconds a
// round, 4), TOGETHER_CONNECTIONS (per side, 8). Builds go to bench/.build/together/ (ignored).
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { envIntegers } from '../scripts/cli'
import { OFFLINE_ENV, WRANGLER } from '../scripts/wrangler'
import { startSimulatorServer } from '../simulator/server'
import { ceilingSource } from './ceiling'
import { bundleLikeWrangler, startSide } from './gateway'
import { buildLoadScript } from './load-script'
import { cpuUs } from './proc'
import { median, pairLines } from './stats'

const setting = envIntegers('npm run bench -- --together')
const ROUNDS = setting('TOGETHER_ROUNDS', 12, 1, 200)
const DURATION = setting('TOGETHER_DURATION', 4, 1, 60)
const CONNECTIONS = setting('TOGETHER_CONNECTIONS', 8, 1, 100)
const SIZES = (process.env.TOGETHER_SIZES ?? '20,100').split(',').map((s) => {
  const size = Number(s)
  if (!Number.isInteger(size) || size < 0 || size > 1000) {
    console.error(`npm run bench -- --together: TOGETHER_SIZES: ${s} is not a page size (0-1000)`)
    process.exit(2)
  }
  return size
})
const BUILD_DIR = 'bench/.build/together'
const ROUTE = '/v1/organization/groups'
const PARTNER = 'bench'
const SIDES = ['ceiling', 'floor', 'gateway'] as const
type SideName = (typeof SIDES)[number]
type Side = Awaited<ReturnType<typeof startSide>>

/** What a gateway hit on one page answers and logs: the ceiling and the floor answer the same. */
type Hit = { limit: number; body: string; headers: [string, string][]; line: string; key: string }

/** One side's load for a round, from a process of its own: requests answered. */
async function load(side: Side, size: number): Promise<number> {
  const file = `${BUILD_DIR}/load-${side.name}.json`
  const url = `${side.url}${ROUTE}?limit=${size}`
  const headers = side.auth ? { authorization: side.auth } : {}
  writeFileSync(
    file,
    JSON.stringify({
      url,
      connections: CONNECTIONS,
      duration: DURATION,
      headers,
      label: side.name,
    }),
  )
  const child = spawn(process.execPath, [`${BUILD_DIR}/load.mjs`, file], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d
  })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`load for ${side.name} failed (${code})`)
  const run = JSON.parse(out) as { requests: number; errors: number }
  if (run.errors > 0) throw new Error(`${side.name}: ${run.errors} errors under load`)
  return run.requests
}

mkdirSync(BUILD_DIR, { recursive: true })
const built = spawnSync(
  process.execPath,
  [WRANGLER, 'deploy', '--dry-run', '--minify', '--outdir', `${BUILD_DIR}/gateway`],
  { encoding: 'utf8', env: { ...process.env, ...OFFLINE_ENV } },
)
if (built.status !== 0) throw new Error(built.stderr || built.stdout)
await buildLoadScript(`${BUILD_DIR}/load.mjs`)
const simulator = await startSimulatorServer({ port: 0, groups: 10_000, latencyMs: 0 })
/** What every side is started with (bench/gateway.ts `startSide`). */
const sideOptions = { upstreamUrl: simulator.baseUrl, partner: PARTNER }
const sides: Side[] = []
try {
  // The gateway first: its hit on each page is what the others answer and log.
  let line = ''
  const gateway = await startSide('gateway', `${BUILD_DIR}/gateway/index.js`, {
    ...sideOptions,
    onLog: (m) => {
      if (m.includes('"cache":"groups-gateway; hit')) line = m
    },
  })
  sides.push(gateway)
  const hits: Hit[] = []
  for (const limit of SIZES) {
    const ask = () =>
      fetch(`${gateway.url}${ROUTE}?limit=${limit}`, { headers: { authorization: gateway.auth } })
    await (await ask()).text()
    line = ''
    const hit = await ask()
    const body = await hit.text()
    for (let waited = 0; line === ''; waited += 10) {
      if (waited > 5_000) throw new Error(`the gateway logged no hit line at limit=${limit}`)
      await new Promise((r) => setTimeout(r, 10))
    }
    if (!hit.headers.get('cache-status')?.includes('hit')) throw new Error(`no hit at ${limit}`)
    const headers = [...hit.headers].filter(
      ([n]) => n !== 'content-length' && n !== 'date' && n !== 'x-request-id',
    )
    hits.push({ limit, body, headers, line, key: 'unused' })
  }
  const floor = await bundleLikeWrangler('bench/floor.ts', `${BUILD_DIR}/floor.js`, {
    FLOOR_KV: 'false',
    FLOOR_PARTNER: JSON.stringify(PARTNER),
    FLOOR_PAGES: JSON.stringify(hits),
  })
  sides.push(await startSide('floor', floor, sideOptions))
  const pin = async (side: Side, hit: Hit) => {
    const res = await fetch(`${side.url}${ROUTE}?limit=${hit.limit}`, {
      headers: side.auth ? { authorization: side.auth } : {},
    })
    if ((await res.text()) !== hit.body) throw new Error(`${side.name} serves other bytes`)
    for (const pid of side.pids) spawnSync('taskset', ['-a', '-p', '-c', '0', pid])
  }
  for (const side of sides) for (const hit of hits) await pin(side, hit)
  spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)])

  console.log(
    `together: ${SIDES.join(', ')} under the same load at the same time, their workerds on one core; ${ROUNDS} rounds of ${DURATION} s per size, ${CONNECTIONS} connections a side`,
  )
  for (const hit of hits) {
    const size = hit.limit
    // The ceiling of this size, exactly as bench/ceiling.ts writes it: a worker of its own.
    const entry = `${BUILD_DIR}/ceiling-${size}.entry.js`
    writeFileSync(
      entry,
      `${ceilingSource(hit, { partner: PARTNER, route: ROUTE })}\nexport default ceiling`,
    )
    const ceiling = await startSide(
      'ceiling',
      await bundleLikeWrangler(entry, `${BUILD_DIR}/ceiling-${size}.js`),
      sideOptions,
    )
    try {
      await pin(ceiling, hit)
      const running = [ceiling, ...sides]
      const us: Record<SideName, number[]> = { ceiling: [], floor: [], gateway: [] }
      // Round 0 warms every side under load, and is not counted.
      for (let round = 0; round <= ROUNDS; round++) {
        const before = running.map((s) => cpuUs(s.pids))
        const answered = await Promise.all(running.map((s) => load(s, size)))
        if (round === 0) continue
        for (const [i, side] of running.entries()) {
          us[side.name].push((cpuUs(side.pids) - (before[i] as number)) / (answered[i] as number))
        }
        console.log(
          `  limit=${size}, round ${round}: ${SIDES.map((n) => `${n} ${us[n].at(-1)?.toFixed(0)}`).join(', ')} us CPU a request`,
        )
      }
      const ratio = (a: SideName, b: SideName) => us[a].map((x, i) => x / (us[b][i] as number))
      console.log(
        `\nlimit=${size}: CPU per request (us, medians), and the medians of the rounds' ratios:`,
      )
      for (const name of SIDES) console.log(`  ${name.padEnd(8)} ${median(us[name]).toFixed(0)}`)
      const pairs = [
        ['gateway', 'ceiling'],
        ['floor', 'ceiling'],
        ['gateway', 'floor'],
      ] as const
      for (const line of pairLines(pairs, ratio, { sign: '/', digits: 3, unit: 'x' }))
        console.log(line)
      console.log('')
    } finally {
      await ceiling.mf.dispose()
    }
  }
} finally {
  for (const side of sides) await side.mf.dispose()
  await simulator.close()
}
