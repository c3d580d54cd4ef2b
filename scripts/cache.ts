// `npm run cache -- purge`: makes every cached page unreachable at once by writing a new cache
// generation (each page key includes it). Old pages expire from KV on their own.
import {
  GENERATION_KEY,
  GENERATION_KV_CACHE_TTL_SECONDS,
  GENERATION_TTL_MS,
  newGeneration,
} from '../src/pages/generation'
import { argumentsChecked, isMain, main, oneOf, readArgs } from './cli'
import { describeTarget, openKv, readTarget, TARGET_HELP, TARGET_OPTIONS } from './kv'
import { propagationBound } from './wrangler'

const HELP = `usage: npm run cache -- purge [--local | --remote --env ENV] [--persist-to DIR]

purge   starts a new cache generation: every cached page is unreachable from then on
${TARGET_HELP}

Exit status: 0 done, 1 the write failed, 2 a wrong command line.`

async function run(argv: string[]): Promise<void> {
  const { values, positionals } = readArgs(
    { name: 'npm run cache', help: HELP, options: TARGET_OPTIONS, positionals: [1, 1] },
    argv,
  )
  oneOf('the command', positionals[0] ?? '', ['purge'])
  const target = readTarget(values)
  argumentsChecked('npm run cache')
  const generation = newGeneration(Date.now())
  const kv = await openKv(target, 'GROUPS_CACHE')
  try {
    await kv.put(GENERATION_KEY, generation)
  } finally {
    await kv.close()
  }
  const reach =
    target.kind === 'local'
      ? `A running wrangler dev applies it within ${GENERATION_TTL_MS / 1000} s (its generation cache).`
      : propagationBound([
          ['isolate generation cache', GENERATION_TTL_MS / 1000],
          ['KV edge cache', GENERATION_KV_CACHE_TTL_SECONDS],
        ]).sentence
  console.log(
    `purged ${describeTarget(target)}: the cache generation is now ${generation}. ${reach}`,
  )
}

if (isMain(import.meta.url)) {
  await main('npm run cache', () => run(process.argv.slice(2)))
}
