// `npm run bench -- --pipeline`: the JavaScript a hot hit costs on each side, finer than the load
// rounds can resolve. The ceiling, the floor and the gateway (src, bundled as wrangler bundles it)
// each run in a workerd of their own through Miniflare; each request to a side runs that side's
// fetch handler PIPELINE_REPEAT times in-process on one page, with every rate-limit binding
// replaced by one that answers at once (Miniflare's, a SQLite write, is most of a request's CPU and
// the same on every side). CPU is the side's workerd threads' run time (`/proc/<pid>/task/*/
// schedstat`, in nanoseconds), over PIPELINE_REQUESTS requests, sides in A-B-C-C-B-A rounds.
// The ceiling and the floor answer the gateway's own hit: its headers and its log line.
//
// PIPELINE_LIMIT (the page's `limit`, 20), PIPELINE_ROUNDS (16), PIPELINE_REPEAT (200),
// PIPELINE_REQUESTS (6 per side per round). Builds go to bench/.build/pipeline/ (ignored).
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { envIntegers } from '../scripts/cli'
import { startSimulatorServer } from '../simulator/server'
import { ceilingSource } from './ceiling'
import { bundleLikeWrangler, startSide } from './gateway'
import { runNs } from './proc'
import { median, pairLines } from './stats'

const setting = envIntegers('npm run bench -- --pipeline')
const LIMIT = setting('PIPELINE_LIMIT', 20, 0, 1000)
const ROUNDS = setting('PIPELINE_ROUNDS', 16, 1, 200)
const REPEAT = setting('PIPELINE_REPEAT', 200, 1, 10_000)
const REQUESTS = setting('PIPELINE_REQUESTS', 6, 2, 1000)
/** 0: Miniflare's own rate-limit bindings, each run's call a real one (I/O, as under load). */
const STUB = setting('PIPELINE_STUB', 1, 0, 1) === 1
const BUILD_DIR = 'bench/.build/pipeline'
const ROUTE = '/v1/organization/groups'
const PATH = `${ROUTE}?limit=${LIMIT}`
const PARTNER = 'bench'
const SIDES = ['ceiling', 'floor', 'gateway'] as const
type SideName = (typeof SIDES)[number]

/** Wraps a side's `app` (a fetch handler): runs it `n` times a request, bindings stubbed. */
const DRIVER = `
const answerAtOnce = { limit: async () => ({ success: true }) }
const STUB = ${STUB}
let stubbed
export default {
  async fetch(request, env, ctx) {
    stubbed ??= STUB ? Object.fromEntries(Object.entries(env).map(([k, v]) => [k, k.startsWith('RATE_LIMIT') ? answerAtOnce : v])) : env
    const n = Number(new URL(request.url).searchParams.get('n'))
    const authorization = request.headers.get('authorization') ?? ''
    let res
    for (let i = 0; i < n; i++) {
      res = await app.fetch(new Request('http://gateway.test${PATH}', { headers: { authorization } }), stubbed, ctx)
      if (i < n - 1) await res.body?.cancel()
    }
    return new Response(res.body, { status: res.status, headers: { 'x-side-headers': JSON.stringify([...res.headers]) } })
  },
}`

/** One side's bundle: `head` defines `app`; esbuild as wrangler runs it, `define`s added. */
async function bundle(name: SideName, head: string, define: Record<string, string> = {}) {
  const entry = resolve(`${BUILD_DIR}/${name}.entry.js`)
  writeFileSync(entry, `${head}\n${DRIVER}`)
  return bundleLikeWrangler(entry, `${BUILD_DIR}/${name}.js`, define)
}

type Side = Awaited<ReturnType<typeof startSide>>

/** One request to a side: `n` runs of its handler; the last one's status, headers and body. */
async function ask(side: Side, n: number) {
  const res = await fetch(`${side.url}/?n=${n}`, { headers: { authorization: side.auth } })
  const body = await res.text()
  if (res.status !== 200) throw new Error(`${side.name}: ${res.status} ${body.slice(0, 200)}`)
  const headers = JSON.parse(res.headers.get('x-side-headers') ?? '[]') as [string, string][]
  return { headers, body }
}

mkdirSync(BUILD_DIR, { recursive: true })
const simulator = await startSimulatorServer({ port: 0, groups: 2_000, latencyMs: 0 })
/** What every side is started with (bench/gateway.ts `startSide`). */
const sideOptions = { upstreamUrl: simulator.baseUrl, partner: PARTNER }
const sides: Side[] = []
try {
  const src = resolve('src/index.ts')
  let line = ''
  const gateway = await startSide(
    'gateway',
    await bundle(
      'gateway',
      `import app from '${src}'\nexport { PageFetcher, PopularPages } from '${src}'`,
    ),
    {
      ...sideOptions,
      onLog: (message) => {
        if (message.includes('"cache":"groups-gateway; hit')) line = message
      },
    },
  )
  sides.push(gateway)
  await ask(gateway, 1)
  const hit = await ask(gateway, 1)
  for (let waited = 0; line === ''; waited += 10) {
    if (waited > 5_000) throw new Error('the gateway logged no hit line')
    await new Promise((r) => setTimeout(r, 10))
  }
  const headers = hit.headers.filter(([k]) => k !== 'x-request-id')
  const page = { limit: LIMIT, body: hit.body, headers, line, key: 'unused' }
  const floor = await bundle('floor', `import app from '${resolve('bench/floor.ts')}'`, {
    FLOOR_KV: 'false',
    FLOOR_PARTNER: JSON.stringify(PARTNER),
    FLOOR_PAGES: JSON.stringify([page]),
  })
  const ceiling = await bundle(
    'ceiling',
    `${ceilingSource({ ...hit, headers, line }, { partner: PARTNER, route: ROUTE })}\nconst app = ceiling`,
  )
  sides.unshift(await startSide('floor', floor, sideOptions))
  sides.unshift(await startSide('ceiling', ceiling, sideOptions))
  for (const side of sides) {
    const { body } = await ask(side, 1)
    if (body !== hit.body) throw new Error(`${side.name} serves other bytes`)
    for (const pid of side.pids) spawnSync('taskset', ['-a', '-p', '-c', '0', pid])
    await ask(side, REPEAT)
  }
  spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)])

  console.log(
    `pipeline: limit=${LIMIT}, ${ROUNDS} rounds of ${REQUESTS} requests a side, ${REPEAT} runs of the handler each; rate-limit bindings ${STUB ? 'stubbed' : "Miniflare's own"}`,
  )
  const us: Record<SideName, number[]> = { ceiling: [], floor: [], gateway: [] }
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse()
    const ns: Record<SideName, number> = { ceiling: 0, floor: 0, gateway: 0 }
    for (const side of [...order, ...[...order].reverse()]) {
      const before = runNs(side.pids)
      for (let i = 0; i < REQUESTS / 2; i++) await ask(side, REPEAT)
      ns[side.name] += runNs(side.pids) - before
    }
    for (const name of SIDES) us[name].push(ns[name] / 1000 / (REPEAT * REQUESTS))
    console.log(
      `  round ${round + 1}: ${SIDES.map((n) => `${n} ${us[n].at(-1)?.toFixed(1)}`).join(', ')} us`,
    )
  }
  const over = (a: SideName, b: SideName) => us[a].map((x, i) => x - (us[b][i] as number))
  console.log(
    "\nCPU per run of the handler (us; median, and the median of the rounds' differences):",
  )
  for (const name of SIDES) console.log(`  ${name.padEnd(8)} ${median(us[name]).toFixed(1)}`)
  const pairs = [
    ['floor', 'ceiling'],
    ['gateway', 'ceiling'],
    ['gateway', 'floor'],
  ] as const
  for (const line of pairLines(pairs, over, { sign: '-', digits: 1 })) console.log(line)
} finally {
  for (const side of sides) await side.mf.dispose()
  await simulator.close()
}
