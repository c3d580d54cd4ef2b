// `npm run partners -- <command>`: manage partner keys with wrangler's own KV commands.
//
//   create <name> [--tier restricted|standard|elevated] [--disabled]   prints the key on the last line
//   list                                                               names, tiers, creation times
//   revoke <name>                                                      deletes the partner's record
//   disable <name> | enable <name>                                     keeps the record, refuses the key
//
// Add --local (the default: the state `wrangler dev` and `npm start` read) or --remote (the deployed
// namespace; needs `wrangler login` and the PARTNERS namespace id in wrangler.toml).
import { pathToFileURL } from 'node:url'
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
import { wrangler } from './wrangler'

/** Where the records live; a local target may name its own state directory (tests do). */
export type Target = '--local' | '--remote' | ['--local', '--persist-to', string]

export interface StoredPartner {
  storageKey: string
  record: PartnerRecord
}

const targetArgs = (target: Target): string[] => (Array.isArray(target) ? target : [target])

export function listPartners(target: Target): StoredPartner[] {
  const out = wrangler([
    'kv',
    'key',
    'list',
    '--binding',
    'PARTNERS',
    '--prefix',
    PARTNER_STORAGE_PREFIX,
    ...targetArgs(target),
  ])
  const keys = JSON.parse(out.slice(out.indexOf('['))) as { name: string; metadata?: unknown }[]
  return keys.flatMap((k) => {
    const record = parseRecord(k.metadata)
    return record ? [{ storageKey: k.name, record }] : []
  })
}

export function putPartner(key: string, record: PartnerRecord, target: Target): void {
  const json = JSON.stringify(record)
  wrangler([
    'kv',
    'key',
    'put',
    key,
    json,
    '--binding',
    'PARTNERS',
    '--metadata',
    json,
    ...targetArgs(target),
  ])
}

/** Stores a partner under a key it is given (used by `npm start` for its development key). */
export async function registerPartner(key: string, record: PartnerRecord, target: Target) {
  putPartner(storageKey(await digestKey(key)), record, target)
}

function findPartner(name: string, target: Target): StoredPartner {
  const found = listPartners(target).find((p) => p.record.name === name)
  if (!found) throw new Error(`no partner named '${name}'`)
  return found
}

async function main(argv: string[]): Promise<void> {
  const target = argv.includes('--remote') ? '--remote' : '--local'
  const args = argv.filter((a) => a !== '--local' && a !== '--remote')
  const [command, name] = args
  const flag = (f: string) => {
    const i = args.indexOf(f)
    return i === -1 ? undefined : args[i + 1]
  }

  switch (command) {
    case 'create': {
      if (!name || !PARTNER_NAME_PATTERN.test(name)) {
        throw new Error('a name of lower-case letters, digits, ".", "_" or "-" is required')
      }
      const tier = flag('--tier')
      if (tier !== undefined && !TIER_NAMES.includes(tier as TierName)) {
        throw new Error(`--tier must be one of ${TIER_NAMES.join(', ')}`)
      }
      if (listPartners(target).some((p) => p.record.name === name)) {
        throw new Error(`a partner named '${name}' exists: revoke it first to issue a new key`)
      }
      const key = generatePartnerKey()
      const record: PartnerRecord = {
        name,
        createdAt: new Date().toISOString(),
        ...(tier ? { tier: tier as TierName } : {}),
        ...(args.includes('--disabled') ? { disabled: true } : {}),
      }
      await registerPartner(key, record, target)
      console.log(
        `created partner '${name}' (${target.slice(2)}, tier ${record.tier ?? 'standard'})`,
      )
      console.log(
        'This key is shown once; only its SHA-256 digest is stored. Hand it to the partner:',
      )
      console.log(key)
      return
    }
    case 'list': {
      const partners = listPartners(target)
      if (partners.length === 0) console.log(`no partners (${target.slice(2)})`)
      for (const { storageKey: k, record } of partners) {
        const status = record.disabled ? 'disabled' : 'active'
        const digest = `${k.slice(PARTNER_STORAGE_PREFIX.length, PARTNER_STORAGE_PREFIX.length + 8)}…`
        console.log(
          [record.name, record.createdAt, record.tier ?? 'standard', status, digest].join('\t'),
        )
      }
      return
    }
    case 'revoke': {
      const found = findPartner(name ?? '', target)
      wrangler([
        'kv',
        'key',
        'delete',
        found.storageKey,
        '--binding',
        'PARTNERS',
        ...targetArgs(target),
      ])
      console.log(`revoked partner '${found.record.name}'`)
      return
    }
    case 'disable':
    case 'enable': {
      const found = findPartner(name ?? '', target)
      const { disabled: _, ...rest } = found.record
      putPartner(
        found.storageKey,
        command === 'disable' ? { ...rest, disabled: true } : rest,
        target,
      )
      console.log(`${command}d partner '${found.record.name}'`)
      return
    }
    default:
      throw new Error(
        'usage: npm run partners -- create|list|revoke|disable|enable [name] [--local|--remote]',
      )
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  })
}
