// `npm start`: the worker under `wrangler dev` on http://127.0.0.1:8787 with local KV, wired to the
// bundled upstream simulator on http://127.0.0.1:9000, with a development partner key registered
// in local KV. No real key and no network needed.
import { startSimulatorServer } from '../simulator/server'
import { integer, main, progress, readArgs } from './cli'
import { DEV_OPERATOR_KEY, DEV_PARTNER_KEY, DEV_PARTNER_NAME } from './dev-partner'
import { registerPartner } from './partners'
import { startWranglerDev } from './wrangler'

const HELP = `usage: npm start

Runs the upstream simulator and the worker under wrangler dev, with local state in .wrangler/state
and a development partner key registered there. Never reads .dev.vars or a real key.

Environment:
  PORT            the worker's port (default 8787)
  SIM_PORT        the simulator's port (default 9000)
  SIM_LATENCY_MS  latency the simulator adds to every answer (default 0)`

await main('npm start', async () => {
  readArgs({ name: 'npm start', help: HELP, options: {} })
  const port = integer('PORT', process.env.PORT ?? '8787', 1, 65_535)
  const simPort = integer('SIM_PORT', process.env.SIM_PORT ?? '9000', 1, 65_535)
  const latencyMs = integer('SIM_LATENCY_MS', process.env.SIM_LATENCY_MS ?? '0', 0, 60_000)

  // The development partner, in local state only, so the README's examples work as they are.
  progress('registering the development partner in local state…')
  await registerPartner(
    DEV_PARTNER_KEY,
    { name: DEV_PARTNER_NAME, createdAt: new Date().toISOString() },
    { kind: 'local', persistTo: '.wrangler/state' },
  )
  const simulator = await startSimulatorServer({
    port: simPort,
    latencyMs,
  })
  console.log(`upstream simulator: ${simulator.sim.groups.length} groups at ${simulator.baseUrl}`)

  // As a var, not a secret: wrangler takes from its environment only the secrets
  // `secrets.required` lists, and the operator key is optional.
  const child = startWranglerDev(
    port,
    simulator.baseUrl,
    ['--var', `OPERATOR_KEY:${DEV_OPERATOR_KEY}`],
    {
      stdio: 'inherit',
    },
  )
  const stop = (signal: NodeJS.Signals) => child.kill(signal)
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  console.log(`development partner key (local only): ${DEV_PARTNER_KEY}`)
  console.log(`development operator key (local only): ${DEV_OPERATOR_KEY}`)
  child.on('exit', (code) => {
    void simulator.close().then(() => process.exit(code ?? 0))
  })
})
