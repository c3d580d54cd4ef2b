// `npm start`: the worker under `wrangler dev` on http://127.0.0.1:8787 with local KV, wired to the
// bundled upstream simulator on http://127.0.0.1:9000, with a development partner key registered
// in local KV. No real key and no network needed.
// PORT and SIM_PORT move the two ports; extra arguments go to `wrangler dev`.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { startSimulatorServer } from '../simulator/server'
import { SIMULATOR_ADMIN_KEY } from '../simulator/upstream'
import { DEV_PARTNER_KEY, DEV_PARTNER_NAME } from './dev-partner'
import { registerPartner } from './partners'

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

const wrangler = join(
  dirname(createRequire(import.meta.url).resolve('wrangler/package.json')),
  'bin/wrangler.js',
)
const child = spawn(
  process.execPath,
  [
    wrangler,
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    port,
    '--var',
    `OPENAI_BASE_URL:${simulator.baseUrl}`,
    ...process.argv.slice(2),
  ],
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      // wrangler takes required secrets from the environment: the simulator's key, never a real one.
      OPENAI_ADMIN_KEY: SIMULATOR_ADMIN_KEY,
      WRANGLER_SEND_METRICS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    },
  },
)

const stop = (signal: NodeJS.Signals) => child.kill(signal)
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
console.log(`development partner key (local only): ${DEV_PARTNER_KEY}`)
child.on('exit', (code) => {
  void simulator.close().then(() => process.exit(code ?? 0))
})
