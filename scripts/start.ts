// `npm start`: the worker under `wrangler dev` on http://127.0.0.1:8787 with local KV, wired to the
// bundled upstream simulator on http://127.0.0.1:9000, with a development partner key registered
// in local KV. No real key and no network needed.
// PORT and SIM_PORT move the two ports; extra arguments go to `wrangler dev`.
import { startSimulatorServer } from '../simulator/server'
import { DEV_PARTNER_KEY, DEV_PARTNER_NAME } from './dev-partner'
import { registerPartner } from './partners'
import { startWranglerDev } from './wrangler'

const port = process.env.PORT ?? '8787'

// The development partner, in local KV only, so the README's examples work as they are.
await registerPartner(
  DEV_PARTNER_KEY,
  { name: DEV_PARTNER_NAME, createdAt: new Date().toISOString() },
  '--local',
)
const simulator = await startSimulatorServer({
  port: Number(process.env.SIM_PORT ?? 9000),
  latencyMs: Number(process.env.SIM_LATENCY_MS ?? 0),
})
console.log(`upstream simulator: ${simulator.sim.groups.length} groups at ${simulator.baseUrl}`)

const child = startWranglerDev(port, simulator.baseUrl, process.argv.slice(2), {
  stdio: 'inherit',
})

const stop = (signal: NodeJS.Signals) => child.kill(signal)
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
console.log(`development partner key (local only): ${DEV_PARTNER_KEY}`)
child.on('exit', (code) => {
  void simulator.close().then(() => process.exit(code ?? 0))
})
