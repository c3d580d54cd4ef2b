// The gateway as the benchmarks run it: its bundle in Miniflare with every binding wrangler.toml
// declares, a partner allowed to call it, and wrangler's build settings. Shared by `npm run
// bench`, its `--profile`, its `--pipeline` and its `--together`.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { build, type Plugin } from 'esbuild'
import { convertV4MiniflareOptions, Miniflare } from 'miniflare'
import { DEV_PARTNER_KEY_SECRET } from '../scripts/dev-partner'
import { SIMULATOR_ADMIN_KEY } from '../simulator/upstream'
import { digestKey, generatePartnerKey, storageKey } from '../src/partners/keys'
import { workerdsOf } from './proc'

/** Rate limits high enough that a load measures serving, not 429s; the binding is still asked. */
export const BENCH_RATE_LIMIT = { simple: { limit: 1_000_000_000, period: 60 as const } }

/** wrangler.toml's top level (before its first table), and its compatibility date and flags. */
export function wranglerTopLevel(config = readFileSync('wrangler.toml', 'utf8')) {
  const topLevel = config.slice(0, config.search(/^\[/m))
  const compatibilityDate =
    /^compatibility_date\s*=\s*"([^"]+)"/m.exec(topLevel)?.[1] ?? '2026-11-01'
  const compatibilityFlags = JSON.parse(
    /^compatibility_flags\s*=\s*(\[[^\]]*\])/m.exec(topLevel)?.[1] ?? '[]',
  ) as string[]
  return { topLevel, compatibilityDate, compatibilityFlags }
}

/** wrangler.toml's `[alias]` table, as [from, to] pairs. */
export function wranglerAliases(config = readFileSync('wrangler.toml', 'utf8')) {
  return [
    ...(/^\[alias\]\n((?:(?!\[).*\n)*)/m.exec(config)?.[1] ?? '').matchAll(
      /^"([^"]+)"\s*=\s*"([^"]+)"/gm,
    ),
  ].map((m) => [m[1] as string, m[2] as string] as const)
}

/** wrangler.toml's aliases as an esbuild plugin, for a bundle built as wrangler builds one. */
export function wranglerAliasPlugin(aliases = wranglerAliases()): Plugin {
  return {
    name: 'wrangler-alias',
    setup(b) {
      for (const [from, to] of aliases) {
        const filter = new RegExp(`^${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
        b.onResolve({ filter }, () => ({ path: resolve(to) }))
      }
    },
  }
}

/**
 * One gateway worker: every var at its default (src/config.ts) but the upstream's URL and `vars`,
 * the simulator's admin key, the development partner-key secret, and storage of its own.
 */
export function gatewayWorker(
  name: string,
  options: { scriptPath: string; upstreamUrl: string; vars?: Record<string, string> },
) {
  const { compatibilityDate, compatibilityFlags } = wranglerTopLevel()
  return {
    name,
    modules: true,
    scriptPath: options.scriptPath,
    compatibilityDate,
    compatibilityFlags,
    bindings: {
      OPENAI_BASE_URL: options.upstreamUrl,
      OPENAI_ADMIN_KEY: SIMULATOR_ADMIN_KEY,
      PARTNER_KEY_SECRET: DEV_PARTNER_KEY_SECRET,
      ...options.vars,
    },
    kvNamespaces: { GROUPS_CACHE: `${name}-cache`, PARTNERS: `${name}-partners` },
    durableObjects: { PAGE_FETCHER: 'PageFetcher', POPULAR_PAGES: 'PopularPages' },
    analyticsEngineDatasets: { USAGE: { dataset: `${name}-usage` } },
    versionMetadata: 'VERSION',
    ratelimits: {
      RATE_LIMIT_STANDARD: { namespace_id: '1001', ...BENCH_RATE_LIMIT },
      RATE_LIMIT_RESTRICTED: { namespace_id: '1002', ...BENCH_RATE_LIMIT },
      RATE_LIMIT_ELEVATED: { namespace_id: '1003', ...BENCH_RATE_LIMIT },
    },
    unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
  }
}

/** A new key of an `elevated` partner, stored as `npm run partners` stores one, in each worker. */
export async function addPartner(mf: Miniflare, name: string, workers: string[]) {
  const key = await generatePartnerKey(DEV_PARTNER_KEY_SECRET)
  const record = { name, createdAt: new Date().toISOString(), tier: 'elevated' }
  for (const worker of workers) {
    const kv = (await mf.getKVNamespace('PARTNERS', worker)) as unknown as KVNamespace
    await kv.put(storageKey(await digestKey(key)), JSON.stringify(record), { metadata: record })
  }
  return key
}

/**
 * esbuild as wrangler runs it on a worker's entry (wrangler.toml's aliases and `keep_names`,
 * minified), with `define`d constants: for the floor and the ceilings, built beside the gateway.
 */
export async function bundleLikeWrangler(
  entry: string,
  outfile: string,
  define: Record<string, string> = {},
): Promise<string> {
  const { topLevel } = wranglerTopLevel()
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: true,
    keepNames: !/^keep_names\s*=\s*false/m.test(topLevel),
    format: 'esm',
    platform: 'browser',
    target: 'es2024',
    conditions: ['workerd', 'worker', 'browser'],
    external: ['cloudflare:*'],
    define: { 'process.env.NODE_ENV': '"production"', ...define },
    plugins: [wranglerAliasPlugin()],
    logLevel: 'warning',
  })
  return outfile
}

/**
 * One side of a comparison (the ceiling, the floor or the gateway) in a workerd of its own, found
 * by PID as a child of this process. Each gets the gateway's bindings; the baselines also the
 * rate-limit binding as `RATE_LIMIT`, and no Durable Objects; the gateway a partner's key.
 */
export async function startSide(
  name: 'ceiling' | 'floor' | 'gateway',
  scriptPath: string,
  options: { upstreamUrl: string; partner: string; onLog?: (message: string) => void },
) {
  const worker = gatewayWorker(name, { scriptPath, upstreamUrl: options.upstreamUrl })
  const before = new Set(workerdsOf(process.pid))
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      handleStructuredLogs: ({ message }: { message: string }) => options.onLog?.(message),
      workers: [
        {
          ...worker,
          ...(name === 'gateway' ? {} : { durableObjects: {} }),
          ratelimits: { ...worker.ratelimits, RATE_LIMIT: worker.ratelimits.RATE_LIMIT_STANDARD },
        },
      ],
    }),
  )
  await mf.ready
  const pids = workerdsOf(process.pid).filter((p) => !before.has(p))
  const url = (await mf.unsafeGetDirectURL(name)).toString().replace(/\/$/, '')
  const auth = name === 'gateway' ? `Bearer ${await addPartner(mf, options.partner, [name])}` : ''
  return { name, mf, pids, url, auth }
}
