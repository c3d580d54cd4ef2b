// `npm run partners -- <command>`: manage partner keys with wrangler's own KV commands.
//
//   create <name> [--tier restricted|standard|elevated] [--disabled]   prints the key on the last line
//   rotate <name>                     a new key for the same partner (name, tier); the old one is refused
//   set-tier <name> <tier>            moves the partner to another rate-limit tier
//   revoke <name>                     deletes the partner's record
//   disable <name> | enable <name>    keeps the record, refuses or accepts the key again
//   list [--json]                     names, creation times, tiers, status, digest prefixes
//
// Add --local (the default: the state `wrangler dev` and `npm start` read) or --remote (the deployed
// namespace; needs `wrangler login` and the PARTNERS namespace id in wrangler.toml), and
// --env staging|production for an environment's own namespace. Every command
// that changes access says when the change reaches every location.
import { pathToFileURL } from 'node:url'
import { PARTNER_KV_CACHE_TTL_SECONDS, PARTNER_LOOKUP_TTL_MS } from '../src/partners/directory'
import {
  digestKey,
  generatePartnerKey,
  PARTNER_NAME_PATTERN,
  PARTNER_STORAGE_PREFIX,
  type PartnerRecord,
  parseRecord,
  storageKey,
  TIER_NAMES,
  type TierName,
} from '../src/partners/keys'
import { propagationBound, wrangler } from './wrangler'

/** Where the records live; a local target may name its own state directory (tests do). */
export type Target = '--local' | '--remote' | ['--local', '--persist-to', string]

export interface StoredPartner {
  storageKey: string
  record: PartnerRecord
}

/** The partner records, wherever they are kept. */
export interface PartnerStore {
  list(): StoredPartner[]
  put(storageKey: string, record: PartnerRecord): void
  delete(storageKey: string): void
}

/**
 * How long a change of access takes to reach every location: an isolate trusts a lookup for
 * `PARTNER_LOOKUP_TTL_MS`, KV's edge cache holds a record for its `cacheTtl`, then KV propagates.
 */
const access = propagationBound([
  ['isolate lookup cache', PARTNER_LOOKUP_TTL_MS / 1000],
  ['KV edge cache', PARTNER_KV_CACHE_TTL_SECONDS],
])
export const ACCESS_CHANGE_BOUND_SECONDS = access.seconds
const bound = access.sentence

const targetArgs = (target: Target): string[] => (Array.isArray(target) ? target : [target])

/** The records in the PARTNERS namespace (of `env`, if given), through wrangler. */
export function wranglerStore(target: Target, env?: string): PartnerStore {
  const envArgs = env ? ['--env', env] : []
  const kv = (...args: string[]) =>
    wrangler(['kv', 'key', ...args, '--binding', 'PARTNERS', ...targetArgs(target), ...envArgs])
  return {
    list() {
      const out = kv('list', '--prefix', PARTNER_STORAGE_PREFIX)
      const keys = JSON.parse(out.slice(out.indexOf('['))) as { name: string; metadata?: unknown }[]
      return keys.flatMap((k) => {
        const record = parseRecord(k.metadata)
        return record ? [{ storageKey: k.name, record }] : []
      })
    },
    put(key, record) {
      const json = JSON.stringify(record)
      kv('put', key, json, '--metadata', json)
    },
    delete(key) {
      kv('delete', key)
    },
  }
}

/** Stores a partner under a key it is given (used by `npm start` for its development key). */
export async function registerPartner(key: string, record: PartnerRecord, target: Target) {
  wranglerStore(target).put(storageKey(await digestKey(key)), record)
}

function findPartner(store: PartnerStore, name: string): StoredPartner {
  const found = store.list().find((p) => p.record.name === name)
  if (!found) throw new Error(`no partner named '${name}'`)
  return found
}

function readTier(tier: string | undefined): TierName {
  if (!TIER_NAMES.includes(tier as TierName)) {
    throw new Error(`the tier must be one of ${TIER_NAMES.join(', ')}`)
  }
  return tier as TierName
}

/** Runs one command against a store; what it prints goes to `print`, a line at a time. */
export async function runPartners(
  args: string[],
  store: PartnerStore,
  print: (line: string) => void,
): Promise<void> {
  const [command, name] = args
  const flag = (f: string) => {
    const i = args.indexOf(f)
    return i === -1 ? undefined : args[i + 1]
  }
  const issueKey = async (record: PartnerRecord) => {
    const key = generatePartnerKey()
    store.put(storageKey(await digestKey(key)), record)
    return key
  }

  switch (command) {
    case 'create': {
      if (!name || !PARTNER_NAME_PATTERN.test(name)) {
        throw new Error('a name of lower-case letters, digits, ".", "_" or "-" is required')
      }
      const tier = flag('--tier') === undefined ? undefined : readTier(flag('--tier'))
      if (store.list().some((p) => p.record.name === name)) {
        throw new Error(`a partner named '${name}' exists: rotate its key, or revoke it first`)
      }
      const record: PartnerRecord = {
        name,
        createdAt: new Date().toISOString(),
        ...(tier ? { tier } : {}),
        ...(args.includes('--disabled') ? { disabled: true } : {}),
      }
      const key = await issueKey(record)
      print(`created partner '${name}' (tier ${record.tier ?? 'standard'}). ${bound}`)
      print('This key is shown once; only its SHA-256 digest is stored. Hand it to the partner:')
      print(key)
      return
    }
    case 'rotate': {
      const found = findPartner(store, name ?? '')
      const key = await issueKey(found.record)
      store.delete(found.storageKey)
      print(
        `rotated the key of partner '${found.record.name}' (tier ${found.record.tier ?? 'standard'}): the old key is refused and the new one accepted. ${bound}`,
      )
      print('This key is shown once; only its SHA-256 digest is stored. Hand it to the partner:')
      print(key)
      return
    }
    case 'set-tier': {
      const found = findPartner(store, name ?? '')
      const tier = readTier(args[2])
      store.put(found.storageKey, { ...found.record, tier })
      print(`partner '${found.record.name}' is now on tier ${tier}. ${bound}`)
      return
    }
    case 'list': {
      const rows = store.list().map(({ storageKey: k, record }) => ({
        name: record.name,
        createdAt: record.createdAt,
        tier: record.tier ?? 'standard',
        status: record.disabled ? 'disabled' : 'active',
        digest: `${k.slice(PARTNER_STORAGE_PREFIX.length, PARTNER_STORAGE_PREFIX.length + 8)}…`,
      }))
      if (args.includes('--json')) {
        print(JSON.stringify(rows, null, 2))
        return
      }
      const table = [
        ['NAME', 'CREATED', 'TIER', 'STATUS', 'KEY DIGEST'],
        ...rows.map(Object.values),
      ]
      const widths = table[0]?.map((_, i) => Math.max(...table.map((r) => String(r[i]).length)))
      for (const row of table) {
        print(
          row
            .map((cell, i) => String(cell).padEnd(widths?.[i] ?? 0))
            .join('  ')
            .trimEnd(),
        )
      }
      if (rows.length === 0) print('(no partners)')
      return
    }
    case 'revoke': {
      const found = findPartner(store, name ?? '')
      store.delete(found.storageKey)
      print(`revoked partner '${found.record.name}'. ${bound}`)
      return
    }
    case 'disable':
    case 'enable': {
      const found = findPartner(store, name ?? '')
      const { disabled: _, ...rest } = found.record
      store.put(found.storageKey, command === 'disable' ? { ...rest, disabled: true } : rest)
      print(`${command}d partner '${found.record.name}'. ${bound}`)
      return
    }
    default:
      throw new Error(
        'usage: npm run partners -- create|rotate|set-tier|revoke|disable|enable|list [name] [tier] [--json] [--local|--remote]',
      )
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const argv = process.argv.slice(2)
  const target = argv.includes('--remote') ? '--remote' : '--local'
  const envAt = argv.indexOf('--env')
  const env = envAt === -1 ? undefined : argv[envAt + 1]
  const args = argv.filter(
    (a, i) => a !== '--local' && a !== '--remote' && i !== envAt && i !== envAt + 1,
  )
  runPartners(args, wranglerStore(target, env), (line) => console.log(line)).catch(
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err)
      process.exit(1)
    },
  )
}
