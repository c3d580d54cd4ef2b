import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { integer, isMain, main, readArgs } from '../scripts/cli'
import {
  DroppedConnection,
  SIMULATOR_ADMIN_KEY,
  type SimulatorOptions,
  UpstreamSimulator,
} from './upstream'

export interface RunningSimulator {
  sim: UpstreamSimulator
  /** The upstream base URL to give the worker, e.g. `http://127.0.0.1:9000/v1`. */
  baseUrl: string
  close(): Promise<void>
}

/** Serves the simulator over HTTP on loopback. Port 0 picks a free port. */
export async function startSimulatorServer(
  options: SimulatorOptions & { port?: number; host?: string } = {},
): Promise<RunningSimulator> {
  const sim = new UpstreamSimulator(options)
  const host = options.host ?? '127.0.0.1'
  const server = createServer((req, res) => {
    void handle(sim, host, req, res)
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, resolve)
  })
  const { port } = server.address() as AddressInfo
  return { sim, baseUrl: `http://${host}:${port}/v1`, close: () => closeServer(server) }
}

async function handle(
  sim: UpstreamSimulator,
  host: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const abort = new AbortController()
  res.on('close', () => abort.abort(new Error('client closed the connection')))
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && chunks.length > 0
  const request = new Request(`http://${host}${req.url ?? '/'}`, {
    method: req.method,
    headers: req.headers as Record<string, string>,
    body: hasBody ? Buffer.concat(chunks) : undefined,
    signal: abort.signal,
  })
  try {
    const response = await sim.fetch(request)
    const body = Buffer.from(await response.arrayBuffer())
    res.writeHead(response.status, {
      ...Object.fromEntries(response.headers),
      'content-length': String(body.length),
    })
    res.end(req.method === 'HEAD' ? undefined : body)
  } catch (err) {
    if (err instanceof DroppedConnection || abort.signal.aborted) {
      req.socket.destroy()
      return
    }
    res.writeHead(500, { 'content-type': 'text/plain' })
    res.end('simulator error')
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
}

function intEnv(name: string, fallback: number, max = 1_000_000): number {
  const raw = process.env[name]
  return raw === undefined || raw === '' ? fallback : integer(name, raw, 0, max)
}

const HELP = `usage: npm run simulator

The upstream simulator alone: List groups over HTTP on 127.0.0.1, with faults to switch on.

Environment:
  SIM_PORT        its port (default 9000)
  SIM_HOST        its address (default 127.0.0.1)
  SIM_GROUPS      how many groups it seeds (default 2500)
  SIM_SEED        the seed of their names and ids
  SIM_LATENCY_MS  latency added to every answer (default 0)
  SIM_ADMIN_KEY   the admin key it accepts (default ${SIMULATOR_ADMIN_KEY})`

/** `npm run simulator`: see HELP. */
async function run(): Promise<void> {
  readArgs({ name: 'npm run simulator', help: HELP, options: {} })
  const running = await startSimulatorServer({
    port: intEnv('SIM_PORT', 9000, 65_535),
    host: process.env.SIM_HOST || '127.0.0.1',
    groups: process.env.SIM_GROUPS ? intEnv('SIM_GROUPS', 0) : undefined,
    seed: process.env.SIM_SEED ? intEnv('SIM_SEED', 0) : undefined,
    latencyMs: intEnv('SIM_LATENCY_MS', 0),
    adminKey: process.env.SIM_ADMIN_KEY || undefined,
  })
  console.log(
    `upstream simulator: ${running.sim.groups.length} groups at ${running.baseUrl} (faults: POST ${running.baseUrl.replace(/\/v1$/, '')}/__sim/fault)`,
  )
  const stop = () => void running.close().then(() => process.exit(0))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

if (isMain(import.meta.url)) await main('npm run simulator', run)
