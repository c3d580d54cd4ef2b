// `npm run smoke -- <base URL>`: the checks a deploy must pass before it takes more traffic. See HELP.
import { argumentsChecked, CommandError, isMain, main, readArgs, UsageError } from './cli'
import { readEnvironment, workerName } from './wrangler'

export interface SmokeResult {
  ok: boolean
  checks: string[]
}

/** A version every smoke request is sent to, whatever share of traffic it has. */
export interface Pin {
  /** The Worker's name, e.g. `groups-gateway-production`. */
  worker: string
  versionId: string
}

/**
 * The header that sends a request to one version of a gradual deployment (Cloudflare's "version
 * overrides"): `Cloudflare-Workers-Version-Overrides: <worker>="<version id>"`.
 */
export function pinHeaders(pin: Pin | undefined): Record<string, string> {
  return pin ? { 'Cloudflare-Workers-Version-Overrides': `${pin.worker}="${pin.versionId}"` } : {}
}

/** Runs the checks against a gateway, every request pinned to `pin` if given; never throws. */
export async function smoke(baseUrl: string, partnerKey: string, pin?: Pin): Promise<SmokeResult> {
  const checks: string[] = []
  let ok = true
  const check = (passed: boolean, what: string) => {
    checks.push(`${passed ? 'ok  ' : 'FAIL'} ${what}`)
    ok &&= passed
  }
  const base = baseUrl.replace(/\/+$/, '')
  try {
    const health = await fetch(`${base}/healthz`, { headers: pinHeaders(pin) })
    check(health.status === 200, `GET /healthz -> ${health.status}`)
    const page = await fetch(`${base}/v1/organization/groups?limit=1`, {
      headers: { Authorization: `Bearer ${partnerKey}`, ...pinHeaders(pin) },
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

const HELP = `usage: SMOKE_PARTNER_KEY=gwp_... npm run smoke -- <base URL> [--version-id ID --env ENV]

The checks a deploy must pass before it takes more traffic: GET /healthz answers 200, and one
authenticated page (SMOKE_PARTNER_KEY, a partner of that environment) is a valid List groups page.
With --version-id, every request is pinned to that version of the environment's Worker (the
Cloudflare-Workers-Version-Overrides header), so a version that takes a small share of traffic is
the one checked. Exit status: 0 every check passed, 1 one failed, 2 a wrong command line.`

/** The pin `--version-id ID --env ENV` name, or none; one without the other is refused. */
export function readPin(versionId: string | undefined, env: string | undefined): Pin | undefined {
  if (versionId === undefined && env === undefined) return undefined
  if (versionId === undefined || env === undefined) {
    throw new UsageError('--version-id and --env go together')
  }
  if (!/^[0-9a-f-]{36}$/.test(versionId)) {
    throw new UsageError(`--version-id must be a version id (a UUID); got '${versionId}'`)
  }
  return { worker: workerName(readEnvironment(env)), versionId }
}

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
    const { positionals, values } = readArgs({
      name: 'npm run smoke',
      help: HELP,
      options: { 'version-id': { type: 'string' }, env: { type: 'string' } },
      positionals: [0, 1],
    })
    if (positionals[0] === undefined) throw new UsageError('the base URL is required')
    const baseUrl = readUrl('the base URL', positionals[0])
    const key = process.env.SMOKE_PARTNER_KEY
    if (!key) throw new UsageError('SMOKE_PARTNER_KEY must hold a partner key')
    const pin = readPin(values['version-id'], values.env)
    argumentsChecked('npm run smoke')
    const result = await smoke(baseUrl, key, pin)
    for (const line of result.checks) console.log(line)
    if (!result.ok) throw new CommandError('a smoke check failed')
  })
}
