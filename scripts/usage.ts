// `npm run usage -- [--env staging|production] [--since 24h] [--json]`: each partner's requests,
// hit ratio, 4xx / 429 / 5xx counts, upstream calls and p50 / p99 time, from the Analytics Engine
// data points the gateway writes (src/http/access-log.ts), through the SQL API. Needs
// CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (Account Analytics: Read). Rows are sampled, so
// every count sums `_sample_interval` rather than counting rows.
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

export interface UsageRow {
  partner: string
  requests: number
  hitRatio: number
  clientErrors: number
  rateLimited: number
  serverErrors: number
  upstreamCalls: number
  p50Ms: number
  p99Ms: number
}

/** The dataset an environment writes to, as wrangler.toml declares it. */
export function datasetOf(wranglerToml: string, env: string | undefined): string {
  const table = env ? `[[env.${env}.analytics_engine_datasets]]` : '[[analytics_engine_datasets]]'
  const at = wranglerToml.indexOf(table)
  const dataset =
    at === -1 ? undefined : /dataset\s*=\s*"([^"]+)"/.exec(wranglerToml.slice(at))?.[1]
  if (!dataset) throw new Error(`no analytics_engine_datasets for ${env ?? 'the top level'}`)
  return dataset
}

/** `24h`, `90m`, `7d` -> seconds. */
export function parseSince(since: string): number {
  const m = /^(\d+)([mhd])$/.exec(since)
  if (!m) throw new Error('--since takes a number and m, h or d, e.g. 24h')
  return Number(m[1]) * { m: 60, h: 3600, d: 86_400 }[m[2] as 'm' | 'h' | 'd']
}

/** The query: one row per partner, weighted by each point's sample interval. */
export function usageQuery(dataset: string, sinceSeconds: number): string {
  if (!/^\w+$/.test(dataset)) throw new Error(`not a dataset name: ${dataset}`)
  return `SELECT
  index1 AS partner,
  SUM(_sample_interval) AS requests,
  sumIf(_sample_interval, blob3 IN ('hit', 'stale')) AS hits,
  sumIf(_sample_interval, double1 >= 400 AND double1 < 500 AND double1 != 429) AS client_errors,
  sumIf(_sample_interval, double1 = 429) AS rate_limited,
  sumIf(_sample_interval, double1 >= 500) AS server_errors,
  SUM(_sample_interval * double4) AS upstream_calls,
  quantileWeighted(0.5, double3, _sample_interval) AS p50_ms,
  quantileWeighted(0.99, double3, _sample_interval) AS p99_ms
FROM ${dataset}
WHERE timestamp > NOW() - INTERVAL '${Math.floor(sinceSeconds)}' SECOND
GROUP BY partner
ORDER BY requests DESC
FORMAT JSON`
}

/** The SQL API's JSON answer, as rows. */
export function parseUsage(answer: unknown): UsageRow[] {
  const data = (answer as { data?: Record<string, unknown>[] }).data
  if (!Array.isArray(data)) throw new Error('the SQL API answered without a data array')
  const n = (v: unknown) => Number(v ?? 0)
  return data.map((r) => ({
    partner: String(r.partner),
    requests: n(r.requests),
    hitRatio: n(r.requests) > 0 ? n(r.hits) / n(r.requests) : 0,
    clientErrors: n(r.client_errors),
    rateLimited: n(r.rate_limited),
    serverErrors: n(r.server_errors),
    upstreamCalls: n(r.upstream_calls),
    p50Ms: n(r.p50_ms),
    p99Ms: n(r.p99_ms),
  }))
}

/** A table with a header row; `-` is requests no partner key was accepted for. */
export function formatUsage(rows: UsageRow[]): string {
  const header = [
    'PARTNER',
    'REQUESTS',
    'HIT %',
    '4XX',
    '429',
    '5XX',
    'UPSTREAM',
    'P50 MS',
    'P99 MS',
  ]
  const cells = rows.map((r) => [
    r.partner,
    String(Math.round(r.requests)),
    (r.hitRatio * 100).toFixed(1),
    String(Math.round(r.clientErrors)),
    String(Math.round(r.rateLimited)),
    String(Math.round(r.serverErrors)),
    String(Math.round(r.upstreamCalls)),
    r.p50Ms.toFixed(0),
    r.p99Ms.toFixed(0),
  ])
  const table = [header, ...cells]
  const widths = header.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)))
  return table
    .map((row) =>
      row
        .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
        .join('  '),
    )
    .join('\n')
}

/** Asks the Analytics Engine SQL API. */
export async function queryUsage(
  sql: string,
  accountId: string,
  token: string,
  fetchImpl: typeof fetch = fetch,
): Promise<unknown> {
  const res = await fetchImpl(
    `https://api.cloudflare.com/client/v4/accounts/${accountId}/analytics_engine/sql`,
    { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: sql },
  )
  const text = await res.text()
  if (!res.ok) throw new Error(`the SQL API answered ${res.status}: ${text.slice(0, 500)}`)
  return JSON.parse(text)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2)
  const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
  const { CLOUDFLARE_ACCOUNT_ID: account, CLOUDFLARE_API_TOKEN: token } = process.env
  if (!account || !token) {
    console.error('npm run usage needs CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN')
    process.exit(2)
  }
  const dataset = datasetOf(readFileSync('wrangler.toml', 'utf8'), flag('--env') ?? 'production')
  const sql = usageQuery(dataset, parseSince(flag('--since') ?? '24h'))
  const rows = parseUsage(await queryUsage(sql, account, token))
  console.log(args.includes('--json') ? JSON.stringify(rows, null, 2) : formatUsage(rows))
}
