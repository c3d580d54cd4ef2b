// Start-up CPU, measured as `wrangler check startup` measures it (wrangler's analyseBundle: the
// upload's modules in workerd, under an entry module of its own that imports the main module on
// the first request, profiled through the isolate's inspector from before that request until its
// answer), with one change: the profiler samples every SAMPLING_US instead of at its default of
// about 1 ms. At the default a start-up of 35 ms is about 18 samples, each a 2 ms step of the
// result; runs of the same bundle range 20-60 ms. The upload's bindings are left out: evaluating
// the modules reads none of them (wrangler gives the profiled worker stand-ins, never real ones).
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { convertV4MiniflareOptions, Miniflare } from 'miniflare'

/** The profiler's sampling interval, in microseconds. */
export const SAMPLING_US = 100

export interface CpuProfile {
  nodes: {
    id: number
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
    children?: number[]
  }[]
  samples?: number[]
  timeDeltas?: number[]
}

/** The parts of an upload (multipart form data, as `wrangler check startup --worker` reads it). */
export async function uploadForm(file: string): Promise<FormData> {
  const bytes = readFileSync(file)
  const boundary = bytes.subarray(2, bytes.indexOf(10)).toString().trim()
  return new Response(bytes, {
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  }).formData()
}

/** Active time as wrangler sums it: every sample's delta but the idle ones', in ms. */
function activeMs(profile: CpuProfile): number {
  const idle = new Set(
    profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id),
  )
  const samples = profile.samples ?? []
  let us = 0
  for (const [i, delta] of (profile.timeDeltas ?? []).entries()) {
    if (!idle.has(samples[i] ?? -1)) us += delta
  }
  return us / 1000
}

/**
 * A session on a worker's own V8 inspector (workerd names each worker's target after its
 * service): `send` a DevTools protocol command and get its result.
 */
export async function openInspector(mf: Miniflare, service: string) {
  const ws = new WebSocket(new URL(`/core:user:${service}`, await mf.getInspectorURL()).href)
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve)
    ws.addEventListener('error', reject)
  })
  let id = 0
  const pending = new Map<number, (result: unknown) => void>()
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown }
    if (message.id !== undefined) pending.get(message.id)?.(message.result)
  })
  const send = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      pending.set(++id, resolve)
      ws.send(JSON.stringify({ id, method, params }))
    })
  return { send, close: () => ws.close() }
}

/**
 * A worker that evaluates an upload's main module on its first request (wrangler's entry): built
 * once per upload, then started as often as the runs ask.
 */
export async function startupWorker(form: FormData) {
  const metadata = JSON.parse(String(form.get('metadata'))) as {
    main_module: string
    compatibility_date?: string
    compatibility_flags?: string[]
  }
  const modules: { type: 'ESModule'; path: string; contents: string }[] = []
  for (const [path, part] of form.entries()) {
    if (!(part instanceof Blob) || part.type === 'application/source-map') continue
    if (!part.type.includes('module')) throw new Error(`${path}: not an ES module (${part.type})`)
    modules.push({ type: 'ESModule', path, contents: await part.text() })
  }
  const entry = `export default {
  async fetch() {
    await import(${JSON.stringify(metadata.main_module)})
    return new Response('ok')
  },
}`
  return {
    name: 'profiler',
    compatibilityDate: metadata.compatibility_date,
    compatibilityFlags: metadata.compatibility_flags,
    modulesRoot: '/',
    modules: [{ type: 'ESModule' as const, path: randomUUID(), contents: entry }, ...modules],
  }
}

/** One start-up of an upload in a fresh workerd, profiled: its active time and its profile. */
export async function profileStartup(
  worker: Awaited<ReturnType<typeof startupWorker>>,
): Promise<{ ms: number; profile: CpuProfile }> {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      inspectorPort: 0,
      handleStructuredLogs: () => {},
      workers: [worker],
    }),
  )
  try {
    await mf.ready
    const { send, close } = await openInspector(mf, worker.name)
    await send('Profiler.enable')
    await send('Profiler.setSamplingInterval', { interval: SAMPLING_US })
    await send('Profiler.start')
    const res = await mf.dispatchFetch('https://example.com')
    const text = await res.text()
    if (!res.ok) throw new Error(`start-up failed: ${res.status} ${text.slice(0, 200)}`)
    const { profile } = (await send('Profiler.stop')) as { profile: CpuProfile }
    close()
    return { ms: activeMs(profile), profile }
  } finally {
    await mf.dispose()
  }
}
