// Where the CLIs read and write KV: the local state `npm start` and `wrangler dev` read (opened once,
// in this process, with the Miniflare that wrangler itself uses), or a deployed environment's
// namespace (through wrangler, which holds the account's credentials).
import { resolve } from 'node:path'
import { convertV4MiniflareOptions, Miniflare } from 'miniflare'
import { progress, UsageError } from './cli'
import { environments, wrangler } from './wrangler'

/** The options every KV-writing script takes, in node:util's parseArgs form. */
export const TARGET_OPTIONS = {
  local: { type: 'boolean' },
  remote: { type: 'boolean' },
  env: { type: 'string' },
  'persist-to': { type: 'string' },
} as const

export const TARGET_HELP = `Where:
  --local              the local state npm start and wrangler dev read (the default)
  --persist-to DIR     that local state's directory (default .wrangler/state, as wrangler's)
  --remote --env ENV   the namespace of a deployed environment (ENV: the [env.*] tables of
                       wrangler.toml); needs \`npx wrangler login\` or CLOUDFLARE_API_TOKEN`

export type Target = { kind: 'local'; persistTo: string } | { kind: 'remote'; env: string }

/** The target the flags name; a remote target always names its environment. */
export function readTarget(values: {
  local?: boolean
  remote?: boolean
  env?: string
  'persist-to'?: string
}): Target {
  if (values.local && values.remote) throw new UsageError('--local and --remote exclude each other')
  if (values.remote) {
    if (values['persist-to'] !== undefined) throw new UsageError('--persist-to is for --local')
    const known = environments()
    if (values.env === undefined) {
      throw new UsageError(`--remote needs --env (${known.join(' or ')})`)
    }
    if (!known.includes(values.env)) {
      throw new UsageError(`--env must be one of ${known.join(', ')}; got '${values.env}'`)
    }
    return { kind: 'remote', env: values.env }
  }
  if (values.env !== undefined) {
    throw new UsageError('--env names a deployed environment: add --remote (local state has none)')
  }
  return { kind: 'local', persistTo: resolve(values['persist-to'] ?? '.wrangler/state') }
}

export function describeTarget(target: Target): string {
  return target.kind === 'local'
    ? `local state (${target.persistTo})`
    : `environment '${target.env}' (remote)`
}

export interface KvEntry {
  name: string
  metadata?: unknown
}

/** The few KV operations the CLIs need, the same against local state and a deployment. */
export interface KvStore {
  list(prefix: string): Promise<KvEntry[]>
  put(key: string, value: string, metadata?: unknown): Promise<void>
  delete(key: string): Promise<void>
  close(): Promise<void>
}

/**
 * Opens one binding's namespace. Locally that is one Miniflare over wrangler's own persistence
 * layout (`<dir>/v3`, the binding's name as the namespace id when wrangler.toml gives none), so
 * a running `wrangler dev` sees every write at once.
 */
export async function openKv(target: Target, binding: string): Promise<KvStore> {
  if (target.kind === 'remote') return remoteKv(target.env, binding)
  progress(`opening ${binding} in ${describeTarget(target)}…`)
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: 'export default { fetch: () => new Response(null, { status: 404 }) }',
      resourcePersistencePath: resolve(target.persistTo, 'v3'),
      kvNamespaces: { [binding]: binding },
    }),
  )
  const kv = (await mf.getKVNamespace(binding)) as unknown as KVNamespace
  return {
    async list(prefix) {
      const entries: KvEntry[] = []
      let cursor: string | undefined
      do {
        const page = await kv.list({ prefix, cursor })
        entries.push(...page.keys.map((k) => ({ name: k.name, metadata: k.metadata })))
        cursor = page.list_complete ? undefined : page.cursor
      } while (cursor)
      return entries
    },
    put: (key, value, metadata) => kv.put(key, value, metadata ? { metadata } : {}),
    delete: (key) => kv.delete(key),
    close: () => mf.dispose(),
  }
}

function remoteKv(env: string, binding: string): KvStore {
  const run = (what: string, args: string[]) => {
    progress(`${what} in ${binding} of environment '${env}' through wrangler…`)
    return wrangler(['kv', 'key', ...args, '--binding', binding, '--remote', '--env', env])
  }
  return {
    async list(prefix) {
      const out = run('listing keys', ['list', '--prefix', prefix])
      return JSON.parse(out.slice(out.indexOf('['))) as KvEntry[]
    },
    async put(key, value, metadata) {
      const meta = metadata === undefined ? [] : ['--metadata', JSON.stringify(metadata)]
      run('writing a key', ['put', key, value, ...meta])
    },
    async delete(key) {
      run('deleting a key', ['delete', key])
    },
    async close() {},
  }
}
