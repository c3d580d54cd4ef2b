// The ceiling: a minimal hand-written worker with a gateway hit's effects and nothing else, as
// module source. `npm run bench` deploys it as a worker of its own per scenario and size;
// `--pipeline` runs its handler many times a request.

/** What a gateway hit on one page answers and logs, which the ceiling answers and logs too. */
export interface CeilingHit {
  body: string
  headers: [string, string][]
  line: string
}

/**
 * Source defining `ceiling`, a fetch handler: the rate-limit binding's call, the page (bytes
 * encoded once, as the memory tier keeps it; or read from KV under `kvKey`), its headers as one
 * Headers built once, which each response copies (docs/benchmarks.md: the cheapest of the ways
 * measured, about a fifth of the cost of `new Headers(pairs)`), a fresh request id, the hit's log
 * line and the data point.
 */
export function ceilingSource(
  hit: CeilingHit,
  { partner, route, kvKey = null }: { partner: string; route: string; kvKey?: string | null },
): string {
  return `const PAGE = new TextEncoder().encode(${JSON.stringify(hit.body)})
const HEADERS = new Headers(${JSON.stringify(hit.headers)})
const LINE = ${JSON.stringify(hit.line)}
const ceiling = {
  async fetch(request, env) {
    await env.RATE_LIMIT.limit({ key: ${JSON.stringify(partner)} })
    ${kvKey !== null ? `const { value } = await env.CACHE.getWithMetadata(${JSON.stringify(kvKey)}, 'text')` : 'const value = PAGE'}
    const response = new Response(value, { headers: HEADERS })
    response.headers.set('x-request-id', crypto.randomUUID())
    console.log(LINE)
    env.USAGE.writeDataPoint({
      indexes: [${JSON.stringify(partner)}],
      blobs: [${JSON.stringify(route)}, 'GET', 'hit', '', env.VERSION.id],
      doubles: [200, 0, 0, 0],
    })
    return response
  },
}`
}
