// One load run, in a process of its own: `tsx bench/load.ts <options.json>` (bench/run.ts bundles it
// once into bench/.build/load.mjs and runs that with node, which starts quicker). Prints progress on
// stderr and the result as JSON on stdout. Latency percentiles come from each response's own
// duration (autocannon's histogram keeps whole milliseconds only).
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'

interface LoadOptions {
  url: string
  connections: number
  duration: number
  headers?: Record<string, string>
  /** Paths to cycle through, one per request (a miss per request, say). */
  paths?: string[]
  label: string
}

const options = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as LoadOptions
const durations: number[] = []
let errors = 0
let next = 0
const instance = autocannon({
  url: options.url,
  connections: options.connections,
  duration: options.duration,
  headers: options.headers,
  requests: options.paths
    ? [
        {
          setupRequest: (req) => ({
            ...req,
            path: options.paths?.[next++ % (options.paths?.length ?? 1)],
          }),
        },
      ]
    : undefined,
  setupClient(client) {
    client.on('response', (status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 400) durations.push(ms)
      else errors++
    })
  },
})
const started = Date.now()
const ticker = setInterval(() => {
  const s = Math.round((Date.now() - started) / 1000)
  process.stderr.write(
    `  ${options.label}: ${s}/${options.duration} s, ${durations.length + errors} responses\n`,
  )
}, 2_000)
const result = await instance
clearInterval(ticker)
const sorted = Float64Array.from(durations).sort()
const at = (p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
const seconds = (Date.now() - started) / 1000
process.stdout.write(
  JSON.stringify({
    requests: durations.length + errors,
    sent: options.paths ? next : durations.length + errors,
    rps: (durations.length + errors) / seconds,
    p50: at(50),
    p99: at(99),
    errors: errors + result.errors + result.timeouts,
  }),
)
