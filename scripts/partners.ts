// `npm run partners -- <command>`: manage partner keys in the PARTNERS namespace. See HELP.
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
} from '../src/partners/keys'
import { argumentsChecked, CommandError, isMain, main, oneOf, readArgs, UsageError } from './cli'
import { DEV_PARTNER_KEY_SECRET } from './dev-partner'
import {
  describeTarget,
  type KvStore,
  openKv,
  readTarget,
  TARGET_HELP,
  TARGET_OPTIONS,
  type Target,
} from './kv'
import { propagationBound } from './wrangler'

const HELP = `usage: npm run partners -- <command> [options]

Commands:
  create <name> [--tier TIER] [--disabled]   a new partner; prints its key alone on the last line
  rotate <name>            a new key for the same partner (name, tier); the old key is refused
  set-tier <name> <tier>   moves the partner to another rate-limit tier
  revoke <name>            deletes the partner's record
  disable <name>           keeps the record, refuses the key (enable <name> accepts it again)
  list [--json]            names, creation times, tiers, status, digest prefixes; never keys

TIER: ${TIER_NAMES.join(', ')} (default standard).
Keys carry a check value under the gateway's PARTNER_KEY_SECRET: create and rotate take it from
the environment (for --remote, that environment's secret; locally, npm start's by default).
${TARGET_HELP}

Exit status: 0 done, 1 the command failed (no such partner, a name taken), 2 a wrong command line.`

const COMMANDS = ['create', 'rotate', 'set-tier', 'revoke', 'disable', 'enable', 'list'] as const
type Command = (typeof COMMANDS)[number]

/** Positional arguments each command takes, the command included. */
const ARITY: Record<Command, number> = {
  create: 2,
  rotate: 2,
  'set-tier': 3,
  revoke: 2,
  disable: 2,
  enable: 2,
  list: 1,
}

/**
 * How long a change of access takes to reach every location: an isolate trusts a lookup for
 * `PARTNER_LOOKUP_TTL_MS`, KV's edge cache holds a record for its `cacheTtl`, then KV propagates.
 */
const access = propagationBound([
  ['isolate lookup cache', PARTNER_LOOKUP_TTL_MS / 1000],
  ['KV edge cache', PARTNER_KV_CACHE_TTL_SECONDS],
])

interface StoredPartner {
  storageKey: string
  record: PartnerRecord
}

async function listPartners(kv: KvStore): Promise<StoredPartner[]> {
  const entries = await kv.list(PARTNER_STORAGE_PREFIX)
  return entries.flatMap((k) => {
    const record = parseRecord(k.metadata)
    return record ? [{ storageKey: k.name, record }] : []
  })
}

async function findPartner(kv: KvStore, name: string): Promise<StoredPartner> {
  const found = (await listPartners(kv)).find((p) => p.record.name === name)
  if (!found) throw new CommandError(`no partner named '${name}'`)
  return found
}

function putRecord(kv: KvStore, key: string, record: PartnerRecord): Promise<void> {
  const json = JSON.stringify(record)
  return kv.put(key, json, record)
}

/**
 * The secret new keys' check values are made under: the target gateway's `PARTNER_KEY_SECRET`.
 * Locally that is `npm start`'s development secret unless the shell names another (for a
 * `wrangler dev` of your own); a deployed environment's must come from the shell.
 */
function keySecret(target: Target): string {
  const given = process.env.PARTNER_KEY_SECRET
  if (given) return given
  if (target.kind === 'local') return DEV_PARTNER_KEY_SECRET
  throw new UsageError(
    `PARTNER_KEY_SECRET must hold the secret of environment '${target.env}' to issue its keys`,
  )
}

/** A new key for `record`: only its digest is stored; the key itself is returned once. */
async function issueKey(kv: KvStore, record: PartnerRecord, secret: string): Promise<string> {
  const key = await generatePartnerKey(secret)
  await putRecord(kv, storageKey(await digestKey(key)), record)
  return key
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  )
}

/** Stores a partner under a key it is given (`npm start`'s development key, the e2e partner). */
export async function registerPartner(key: string, record: PartnerRecord, target: Target) {
  const kv = await openKv(target, 'PARTNERS')
  try {
    await putRecord(kv, storageKey(await digestKey(key)), record)
  } finally {
    await kv.close()
  }
}

async function run(argv: string[]): Promise<void> {
  const { values, positionals } = readArgs(
    {
      name: 'npm run partners',
      help: HELP,
      options: {
        ...TARGET_OPTIONS,
        tier: { type: 'string' },
        disabled: { type: 'boolean' },
        json: { type: 'boolean' },
      },
      positionals: [1, 3],
    },
    argv,
  )
  const command = oneOf('the command', positionals[0] ?? '', COMMANDS)
  if (positionals.length !== ARITY[command]) {
    throw new UsageError(
      positionals.length < ARITY[command]
        ? `${command} needs ${command === 'set-tier' ? 'a partner name and a tier' : 'a partner name'}`
        : `unexpected argument '${positionals[ARITY[command]]}'`,
    )
  }
  const name = positionals[1] ?? ''
  if (command !== 'create' && (values.tier !== undefined || values.disabled)) {
    throw new UsageError('--tier and --disabled are for create (set-tier and disable change them)')
  }
  if (command !== 'list' && values.json) throw new UsageError('--json is for list')
  if (command === 'create' && !PARTNER_NAME_PATTERN.test(name)) {
    throw new UsageError(
      `the name must be 1-63 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit; got '${name}'`,
    )
  }
  const tier =
    command === 'set-tier'
      ? oneOf('the tier', positionals[2] ?? '', TIER_NAMES)
      : values.tier === undefined
        ? undefined
        : oneOf('--tier', values.tier, TIER_NAMES)
  const target = readTarget(values)
  const secret = command === 'create' || command === 'rotate' ? keySecret(target) : ''
  argumentsChecked('npm run partners')
  const where = describeTarget(target)
  const reach =
    target.kind === 'local'
      ? `A running wrangler dev applies it within ${PARTNER_LOOKUP_TTL_MS / 1000} s (its lookup cache).`
      : access.sentence
  const out = (line: string) => console.log(line)

  const kv = await openKv(target, 'PARTNERS')
  try {
    switch (command) {
      case 'create': {
        if ((await listPartners(kv)).some((p) => p.record.name === name)) {
          throw new CommandError(`a partner named '${name}' exists: rotate its key, or revoke it`)
        }
        const record: PartnerRecord = {
          name,
          createdAt: new Date().toISOString(),
          ...(tier ? { tier } : {}),
          ...(values.disabled ? { disabled: true } : {}),
        }
        const key = await issueKey(kv, record, secret)
        out(`created partner '${name}' (tier ${record.tier ?? 'standard'}) in ${where}. ${reach}`)
        out('This key is shown once; only its SHA-256 digest is stored. Hand it to the partner:')
        out(key)
        return
      }
      case 'rotate': {
        const found = await findPartner(kv, name)
        const key = await issueKey(kv, found.record, secret)
        await kv.delete(found.storageKey)
        out(
          `rotated the key of partner '${name}' (tier ${found.record.tier ?? 'standard'}) in ${where}: the old key is refused, the new one accepted. ${reach}`,
        )
        out('This key is shown once; only its SHA-256 digest is stored. Hand it to the partner:')
        out(key)
        return
      }
      case 'set-tier': {
        const found = await findPartner(kv, name)
        await putRecord(kv, found.storageKey, { ...found.record, tier })
        out(`partner '${name}' is now on tier ${tier} in ${where}. ${reach}`)
        return
      }
      case 'revoke': {
        const found = await findPartner(kv, name)
        await kv.delete(found.storageKey)
        out(`revoked partner '${name}' in ${where}: its key is refused. ${reach}`)
        return
      }
      case 'disable':
      case 'enable': {
        const found = await findPartner(kv, name)
        const { disabled: _, ...rest } = found.record
        await putRecord(
          kv,
          found.storageKey,
          command === 'disable' ? { ...rest, disabled: true } : rest,
        )
        out(
          `${command}d partner '${name}' in ${where}: its key is ${command === 'disable' ? 'refused' : 'accepted'}. ${reach}`,
        )
        return
      }
      case 'list': {
        const rows = (await listPartners(kv)).map(({ storageKey: k, record }) => ({
          name: record.name,
          createdAt: record.createdAt,
          tier: record.tier ?? 'standard',
          status: record.disabled ? 'disabled' : 'active',
          digest: `${k.slice(PARTNER_STORAGE_PREFIX.length, PARTNER_STORAGE_PREFIX.length + 8)}…`,
        }))
        if (values.json) {
          out(JSON.stringify(rows, null, 2))
          return
        }
        const header = ['NAME', 'CREATED', 'TIER', 'STATUS', 'KEY DIGEST']
        for (const line of table([header, ...rows.map((r) => Object.values(r))])) out(line)
        if (rows.length === 0) out('(no partners)')
        return
      }
    }
  } finally {
    await kv.close()
  }
}

if (isMain(import.meta.url)) {
  await main('npm run partners', () => run(process.argv.slice(2)))
}
