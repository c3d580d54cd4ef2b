// Starts what the e2e tests drive: the simulator over HTTP, and the worker under `wrangler dev`
// with its own local state and one partner, both on loopback. Stops them when the run ends.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import type { TestProject } from 'vitest/node'
import { DEV_PARTNER_KEY_SECRET } from '../../scripts/dev-partner'
import { registerPartner } from '../../scripts/partners'
import { startWranglerDev } from '../../scripts/wrangler'
import { startSimulatorServer } from '../../simulator/server'
import { generatePartnerKey } from '../../src/partners/keys'
import { freePort } from './project'

declare module 'vitest' {
  export interface ProvidedContext {
    gatewayUrl: string
    partnerKey: string
    simulatorUrl: string
    groupCount: number
    /** A partner's web site on its own origin, allow-listed for CORS, with the SDK's browser build. */
    partnerOrigin: string
  }
}

/**
 * A partner's site on loopback: a page that loads the official `openai` SDK, bundled for the
 * browser by esbuild from the pinned package, as a partner's app would ship it.
 */
async function startPartnerSite(): Promise<{ origin: string; close: () => Promise<void> }> {
  const bundle = await build({
    stdin: {
      contents: "import OpenAI from 'openai'\nglobalThis.OpenAI = OpenAI\n",
      resolveDir: process.cwd(),
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  })
  const sdk = bundle.outputFiles[0]?.text ?? ''
  const server = createHttpServer((req, res) => {
    if (req.url === '/sdk.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk)
    } else {
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><title>partner</title><script src="/sdk.js"></script>')
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

async function waitFor(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${output()}`)
    try {
      if ((await fetch(url)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`wrangler dev did not answer ${url} within 60 s:\n${output()}`)
}

export default async function setup(project: TestProject) {
  const simulator = await startSimulatorServer({ port: 0 })
  const state = mkdtempSync(join(tmpdir(), 'groups-gateway-e2e-'))
  const partnerKey = await generatePartnerKey(DEV_PARTNER_KEY_SECRET)
  await registerPartner(
    partnerKey,
    { name: 'e2e', createdAt: new Date().toISOString(), tier: 'elevated' },
    { kind: 'local', persistTo: state },
  )

  const partnerSite = await startPartnerSite()
  const [port, inspectorPort] = [await freePort(), await freePort()]
  let output = ''
  const child = startWranglerDev(
    port,
    simulator.baseUrl,
    [
      '--inspector-port',
      String(inspectorPort),
      '--persist-to',
      state,
      '--var',
      `CORS_ALLOWED_ORIGINS:${partnerSite.origin}`,
    ],
    { detached: true },
  )
  child.stdout?.on('data', (d) => {
    output += d
  })
  child.stderr?.on('data', (d) => {
    output += d
  })
  const gatewayUrl = `http://127.0.0.1:${port}`
  await waitFor(`${gatewayUrl}/healthz`, child, () => output)

  project.provide('gatewayUrl', gatewayUrl)
  project.provide('partnerKey', partnerKey)
  project.provide('simulatorUrl', simulator.baseUrl)
  project.provide('groupCount', simulator.sim.groups.length)
  project.provide('partnerOrigin', partnerSite.origin)

  return async () => {
    // wrangler dev runs workerd as a child: end the whole group we started, by its id.
    if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM')
    await simulator.close()
    await partnerSite.close()
    rmSync(state, { recursive: true, force: true })
  }
}
