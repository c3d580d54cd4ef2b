// `npm run smoke -- <base URL>`: the checks a deploy must pass before it takes more traffic:
// /healthz answers 200 (configured), and one authenticated page (SMOKE_PARTNER_KEY, a partner of
// that environment) is a valid List groups page. Exits non-zero, saying why, on any failure.
import { pathToFileURL } from 'node:url'

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

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const baseUrl = process.argv[2]
  const key = process.env.SMOKE_PARTNER_KEY
  if (!baseUrl || !key) {
    console.error('usage: SMOKE_PARTNER_KEY=gwp_... npm run smoke -- <base URL>')
    process.exit(2)
  }
  const result = await smoke(baseUrl, key)
  for (const line of result.checks) console.log(line)
  process.exit(result.ok ? 0 : 1)
}
