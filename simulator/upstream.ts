import { DEFAULT_GROUP_COUNT, DEFAULT_SEED, type SimGroup, seedGroups } from './data'

/** The admin key the simulator accepts unless told otherwise. Local only, not a secret. */
export const SIMULATOR_ADMIN_KEY = 'sk-admin-simulator-local-0000000000000000'

/**
 * A switchable fault. `count` is how many list requests it applies to before clearing itself
 * (default: until cleared).
 */
export type Fault = { count?: number } & (
  | { kind: 'status'; status: number }
  | { kind: 'rate_limit'; retryAfter?: string; retryAfterMs?: string }
  /** Answers after `delayMs` on the wall clock: for the standalone server; tests use `hold`. */
  | { kind: 'slow'; delayMs: number }
  | { kind: 'hang' }
  | { kind: 'malformed' }
  | { kind: 'drift' }
  | { kind: 'drop' }
  | { kind: 'unauthorized' }
  /** A 200 whose body goes on for `bytes` (valid JSON never closes), or forever without it. */
  | { kind: 'oversize'; bytes?: number }
)

export interface SimulatorOptions {
  groups?: number
  seed?: number
  adminKey?: string
  /**
   * Added to every list response, as the real upstream's latency, on the wall clock: for the
   * standalone server (`SIM_LATENCY_MS`, the benchmark). Tests hold answers on a `Gate` instead.
   */
  latencyMs?: number
}

/**
 * A gate the simulator's list answers wait at until the test opens it (`UpstreamSimulator.hold`):
 * concurrency a test scripts rather than times. A held request that its caller gives up on (an
 * abort, the gateway's timeout) stops waiting, as it would on a slow upstream.
 *
 * Plain data, polled: in workerd the held request runs in a Durable Object's context and the test
 * in its own, and neither may settle a promise of the other's.
 */
export class Gate {
  /** List requests waiting at the gate now. */
  waiting = 0
  /** List requests that have reached the gate so far, held or let through. */
  arrived = 0
  private isOpen = false

  /** Lets every held answer go on, and every later one pass at once. */
  open(): void {
    this.isOpen = true
  }

  /** Resolves once `n` list requests in all have reached the gate. */
  async reached(n = 1): Promise<void> {
    while (this.arrived < n) await tick()
  }

  /** Waits until the gate opens, or rejects as soon as the caller gives up on the request. */
  async pass(signal: AbortSignal | null | undefined): Promise<void> {
    this.arrived++
    this.waiting++
    try {
      while (!this.isOpen) {
        if (signal?.aborted) throw signal.reason
        await tick()
      }
    } finally {
      this.waiting--
    }
  }
}

/**
 * A millisecond, on the runtime's own timer: workerd's `scheduler.wait`, which a test's fake
 * `setTimeout` does not stop, else (Node) `setTimeout`.
 */
function tick(): Promise<void> {
  const native = (globalThis as { scheduler?: { wait?: (ms: number) => Promise<void> } }).scheduler
  return native?.wait ? native.wait(1) : new Promise((resolve) => setTimeout(resolve, 1))
}

/** Thrown by `fetch` where a real server would drop the connection without a response. */
export class DroppedConnection extends Error {
  constructor() {
    super('the simulator dropped the connection')
    this.name = 'DroppedConnection'
  }
}

const LIST_PATH = '/v1/organization/groups'
const CONTROL_PREFIX = '/__sim/'

/**
 * A faithful local stand-in for the Admin API's List groups endpoint, as a runtime-neutral fetch
 * handler: Node serves it over HTTP (`server.ts`), tests call it in-process.
 */
export class UpstreamSimulator {
  readonly groups: readonly SimGroup[]
  readonly adminKey: string
  latencyMs: number
  fault: Fault | null = null
  /** Where list answers wait, when a test holds them (`hold`). */
  gate: Gate | null = null
  /** List requests received, including refused ones. */
  listRequests = 0
  private readonly indexById: Map<string, number>
  private readonly descending: readonly SimGroup[]
  private nextRequestId = 1

  constructor(options: SimulatorOptions = {}) {
    this.groups = seedGroups(options.groups ?? DEFAULT_GROUP_COUNT, options.seed ?? DEFAULT_SEED)
    this.descending = [...this.groups].reverse()
    this.indexById = new Map(this.groups.map((g, i) => [g.id, i]))
    this.adminKey = options.adminKey ?? SIMULATOR_ADMIN_KEY
    this.latencyMs = options.latencyMs ?? 0
  }

  setFault(fault: Fault | null): void {
    this.fault = fault
  }

  /**
   * Holds every list answer from now on (after the key is checked, before any fault) until the
   * gate returned is opened: a test scripts which requests overlap instead of timing them.
   */
  hold(): Gate {
    this.gate = new Gate()
    return this.gate
  }

  fetch = async (request: Request): Promise<Response> => {
    const url = new URL(request.url)
    if (url.pathname.startsWith(CONTROL_PREFIX)) return this.control(request, url)
    const requestId = `req_sim${String(this.nextRequestId++).padStart(8, '0')}`
    if (url.pathname !== LIST_PATH || (request.method !== 'GET' && request.method !== 'HEAD')) {
      return error(404, requestId, `Invalid URL (${request.method} ${url.pathname})`, null, null)
    }
    this.listRequests++

    const auth = request.headers.get('authorization')
    const given = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : ''
    if (!given) {
      return error(
        401,
        requestId,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        null,
        null,
      )
    }
    const fault = this.takeFault()
    if (given !== this.adminKey || fault?.kind === 'unauthorized') {
      return error(
        401,
        requestId,
        `Incorrect API key provided: ${maskKey(given)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        null,
        'invalid_api_key',
      )
    }
    if (this.gate) await this.gate.pass(request.signal)
    if (this.latencyMs > 0) await sleep(this.latencyMs, request.signal)
    if (fault) {
      const answer = await this.applyFault(fault, request, requestId)
      if (answer) return answer
    }
    return this.list(url.searchParams, requestId)
  }

  private list(params: URLSearchParams, requestId: string): Response {
    const rawLimit = params.get('limit')
    const limit = rawLimit === null ? 100 : Number(rawLimit)
    if (!/^\d+$/.test(rawLimit ?? '100') || limit > 1000) {
      return error(
        400,
        requestId,
        `Invalid 'limit': integer above maximum value, expected a value <= 1000, but got ${rawLimit} instead.`,
        'limit',
        'integer_above_max_value',
      )
    }
    const order = params.get('order') ?? 'asc'
    if (order !== 'asc' && order !== 'desc') {
      return error(
        400,
        requestId,
        `Invalid value: '${order}'. Supported values are: 'asc' and 'desc'.`,
        'order',
        'invalid_value',
      )
    }
    const sorted = order === 'asc' ? this.groups : this.descending
    let start = 0
    const after = params.get('after')
    if (after !== null) {
      const index = this.indexById.get(after)
      if (index === undefined) {
        return error(404, requestId, `No group found with id '${after}'.`, 'after', null)
      }
      start = (order === 'asc' ? index : this.groups.length - 1 - index) + 1
    }
    const data = sorted.slice(start, start + limit)
    const hasMore = start + limit < sorted.length
    const body = {
      object: 'list',
      data,
      has_more: hasMore,
      next: hasMore && data.length > 0 ? (data[data.length - 1] as SimGroup).id : null,
    }
    // The upstream pretty-prints its JSON; doing the same shows the gateway serves bytes as given.
    return json(200, requestId, JSON.stringify(body, null, 2))
  }

  private takeFault(): Fault | null {
    const fault = this.fault
    if (!fault) return null
    if (fault.count !== undefined) {
      if (fault.count <= 1) this.fault = null
      else this.fault = { ...fault, count: fault.count - 1 }
    }
    return fault
  }

  private async applyFault(
    fault: Fault,
    request: Request,
    requestId: string,
  ): Promise<Response | null> {
    switch (fault.kind) {
      case 'status':
        return error(
          fault.status,
          requestId,
          'The server had an error while processing your request. Sorry about that!',
          null,
          null,
        )
      case 'rate_limit': {
        const res = error(
          429,
          requestId,
          'Rate limit reached for requests. Please try again later.',
          null,
          'rate_limit_exceeded',
        )
        if (fault.retryAfter !== undefined) res.headers.set('retry-after', fault.retryAfter)
        if (fault.retryAfterMs !== undefined) res.headers.set('retry-after-ms', fault.retryAfterMs)
        return res
      }
      case 'slow':
        await sleep(fault.delayMs, request.signal)
        return null
      case 'hang':
        await sleep(Number.POSITIVE_INFINITY, request.signal)
        return null
      case 'malformed':
        return json(200, requestId, '{"object":"list","data":[{"object":"group","id":')
      case 'drift':
        return json(
          200,
          requestId,
          JSON.stringify({ object: 'list', data: [{ object: 'group', id: 42 }], has_more: 'no' }),
        )
      case 'drop':
        throw new DroppedConnection()
      case 'oversize':
        return new Response(endlessPage(fault.bytes ?? Number.POSITIVE_INFINITY), {
          status: 200,
          headers: { 'content-type': 'application/json', 'x-request-id': requestId },
        })
      case 'unauthorized':
        return null
    }
  }

  /** `POST /__sim/fault` (a Fault as JSON), `DELETE /__sim/fault`, `GET /__sim/stats`. */
  private async control(request: Request, url: URL): Promise<Response> {
    const path = url.pathname.slice(CONTROL_PREFIX.length)
    if (path === 'fault' && request.method === 'POST') {
      this.setFault((await request.json()) as Fault)
      return Response.json({ fault: this.fault })
    }
    if (path === 'fault' && request.method === 'DELETE') {
      this.setFault(null)
      return Response.json({ fault: null })
    }
    if (path === 'stats' && request.method === 'GET') {
      return Response.json({
        groups: this.groups.length,
        listRequests: this.listRequests,
        fault: this.fault,
        latencyMs: this.latencyMs,
      })
    }
    return Response.json({ error: 'unknown control route' }, { status: 404 })
  }
}

/** Quotes a key the way the upstream does in its 401: the start and the last four characters. */
function maskKey(key: string): string {
  return key.length <= 12
    ? '*'.repeat(key.length)
    : `${key.slice(0, 8)}${'*'.repeat(8)}${key.slice(-4)}`
}

function json(status: number, requestId: string, body: string): Response {
  return new Response(body, {
    status,
    headers: {
      'content-type': 'application/json',
      'x-request-id': requestId,
      'openai-processing-ms': '1',
    },
  })
}

function error(
  status: number,
  requestId: string,
  message: string,
  param: string | null,
  code: string | null,
): Response {
  const type = status >= 500 ? 'server_error' : 'invalid_request_error'
  return json(status, requestId, JSON.stringify({ error: { message, type, param, code } }, null, 2))
}

/** Resolves after `ms`, or rejects as soon as the caller gives up on the request. */
function sleep(ms: number, signal: AbortSignal | null | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = Number.isFinite(ms) ? setTimeout(resolve, ms) : undefined
    signal?.addEventListener('abort', () => {
      if (timer !== undefined) clearTimeout(timer)
      reject(signal.reason)
    })
  })
}

/** A page that opens and never closes: groups for `bytes` bytes, in 64 KiB chunks, or forever. */
function endlessPage(bytes: number): ReadableStream<Uint8Array> {
  const group = new TextEncoder().encode(
    '{"object":"group","id":"group_endless","name":"Endless","created_at":1711471533,"is_scim_managed":false,"group_type":"group"},',
  )
  const chunk = new Uint8Array(64 * 1024)
  for (let i = 0; i + group.length <= chunk.length; i += group.length) chunk.set(group, i)
  let sent = 0
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"object":"list","data":['))
    },
    pull(controller) {
      if (sent >= bytes) return controller.close()
      const part = chunk.subarray(0, Math.min(chunk.length, bytes - sent))
      sent += part.length
      controller.enqueue(part)
    },
  })
}
