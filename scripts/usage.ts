// `npm run usage`: per-partner figures from the Analytics Engine data points the gateway writes
// (src/http/telemetry.ts), through the SQL API. See HELP.
import { readFileSync } from 'node:fs'
import { argumentsChecked, CommandError, isMain, main, progress, readArgs, UsageError } from './cli'
import { readEnvironment } from './wrangler'

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
  const m = /^([1-9]\d{0,5})([mhd])$/.exec(since)
  const seconds = m ? Number(m[1]) * { m: 60, h: 3600, d: 86_400 }[m[2] as 'm' | 'h' | 'd'] : 0
  if (!seconds || seconds > 90 * 86_400) {
    throw new UsageError(
      `--since takes a number and m, h or d, at most 90d (24h, say); got '${since}'`,
    )
  }
  return seconds
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
  if (!Array.isArray(data)) throw new CommandError('the SQL API answered without a data array')
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

/** Cloudflare's API, as wrangler finds it when CLOUDFLARE_API_BASE_URL is not set. */
const DEFAULT_API_BASE_URL = 'https://api.cloudflare.com/client/v4'

/** Asks the Analytics Engine SQL API; a refusal or a non-JSON answer fails in one line. */
async function queryUsage(sql: string, accountId: string, token: string, base: string) {
  let res: Response
  try {
    res = await fetch(`${base.replace(/\/+$/, '')}/accounts/${accountId}/analytics_engine/sql`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: sql,
    })
  } catch (err) {
    throw new CommandError(`the SQL API could not be reached: ${(err as Error).message}`)
  }
  const text = await res.text()
  const oneLine = text.replace(/\s+/g, ' ').slice(0, 300)
  if (!res.ok) throw new CommandError(`the SQL API answered ${res.status}: ${oneLine}`)
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new CommandError(`the SQL API answered something other than JSON: ${oneLine}`)
  }
}

const HELP = `usage: npm run usage -- --env ENV [--since 24h] [--json]

Each partner's requests, hit ratio, 4xx / 429 / 5xx counts, upstream calls and p50 / p99 time, from
the Analytics Engine data points the gateway writes, through Cloudflare's SQL API. Rows are
sampled, so every count sums _sample_interval rather than counting rows.

  --env ENV      the environment (the [env.*] tables of wrangler.toml)
  --since SPAN   how far back: a number and m, h or d (default 24h, at most 90d)
  --json         the rows as JSON instead of a table

Environment: CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN (Account Analytics: Read), and
CLOUDFLARE_API_BASE_URL as wrangler reads it (default ${DEFAULT_API_BASE_URL}).`

async function run(argv: string[]): Promise<void> {
  const { values } = readArgs(
    {
      name: 'npm run usage',
      help: HELP,
      options: {
        env: { type: 'string' },
        since: { type: 'string', default: '24h' },
        json: { type: 'boolean' },
      },
    },
    argv,
  )
  const env = readEnvironment(values.env)
  const since = parseSince(values.since)
  const { CLOUDFLARE_ACCOUNT_ID: account, CLOUDFLARE_API_TOKEN: token } = process.env
  if (!account || !token) {
    throw new UsageError('CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN must be set')
  }
  argumentsChecked('npm run usage')
  const dataset = datasetOf(readFileSync('wrangler.toml', 'utf8'), env)
  progress(`asking the Analytics Engine SQL API about ${dataset}…`)
  const base = process.env.CLOUDFLARE_API_BASE_URL || DEFAULT_API_BASE_URL
  const rows = parseUsage(await queryUsage(usageQuery(dataset, since), account, token, base))
  console.log(values.json ? JSON.stringify(rows, null, 2) : formatUsage(rows))
}

if (isMain(import.meta.url)) {
  await main('npm run usage', () => run(process.argv.slice(2)))
}
