// `npm run smoke -- <base URL>`: the checks a deploy must pass before it takes more traffic. See HELP.
import { argumentsChecked, CommandError, isMain, main, readArgs, UsageError } from './cli'

export interface SmokeResult {
  ok: boolean
  checks: string[]
}

/** Runs the checks against a gateway; never throws. */
export async function smoke(
  baseUrl: string,
  partnerKey: string,
  fetchImpl: typeof fetch = fetch,
): Promise<SmokeResult> {
  const checks: string[] = []
  let ok = true
  const check = (passed: boolean, what: string) => {
    checks.push(`${passed ? 'ok  ' : 'FAIL'} ${what}`)
    ok &&= passed
  }
  const base = baseUrl.replace(/\/+$/, '')
  try {
    const health = await fetchImpl(`${base}/healthz`)
    check(health.status === 200, `GET /healthz -> ${health.status}`)
    const page = await fetchImpl(`${base}/v1/organization/groups?limit=1`, {
      headers: { Authorization: `Bearer ${partnerKey}` },
    })
    const body = (await page.json().catch(() => null)) as { object?: string; data?: unknown } | null
    check(
      page.status === 200 && body?.object === 'list' && Array.isArray(body.data),
      `GET /v1/organization/groups?limit=1 -> ${page.status} (${page.headers.get('cache-status') ?? 'no Cache-Status'})`,
    )
  } catch (err) {
    check(false, `the gateway could not be reached: ${err instanceof Error ? err.message : err}`)
  }
  return { ok, checks }
}

const HELP = `usage: SMOKE_PARTNER_KEY=gwp_... npm run smoke -- <base URL>

The checks a deploy must pass before it takes more traffic: GET /healthz answers 200, and one
authenticated page (SMOKE_PARTNER_KEY, a partner of that environment) is a valid List groups page.
Exit status: 0 every check passed, 1 one failed, 2 a wrong command line.`

/** An http(s) URL, named in the error when it is not one. */
export function readUrl(what: string, value: string): string {
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {}
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(`${what} must be an http(s) URL; got '${value}'`)
  }
  return value
}

if (isMain(import.meta.url)) {
  await main('npm run smoke', async () => {
    const { positionals } = readArgs({
      name: 'npm run smoke',
      help: HELP,
      options: {},
      positionals: [0, 1],
    })
    if (positionals[0] === undefined) throw new UsageError('the base URL is required')
    const baseUrl = readUrl('the base URL', positionals[0])
    const key = process.env.SMOKE_PARTNER_KEY
    if (!key) throw new UsageError('SMOKE_PARTNER_KEY must hold a partner key')
    argumentsChecked('npm run smoke')
    const result = await smoke(baseUrl, key)
    for (const line of result.checks) console.log(line)
    if (!result.ok) throw new CommandError('a smoke check failed')
  })
}
