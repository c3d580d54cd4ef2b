// `npm run cache -- purge [--local|--remote]`: makes every cached page unreachable at once by
// writing a new cache generation (each page key includes it). Running isolates pick it up within
// the bound the README gives; old pages expire from KV on their own.
import {
  GENERATION_KEY,
  GENERATION_KV_CACHE_TTL_SECONDS,
  GENERATION_TTL_MS,
  newGeneration,
} from '../src/pages/generation'
import { propagationBound, wrangler } from './wrangler'

const [command, ...rest] = process.argv.slice(2)
const target = rest.includes('--remote') ? '--remote' : '--local'
const envAt = rest.indexOf('--env')
const envArgs = envAt === -1 ? [] : ['--env', rest[envAt + 1] ?? '']
if (command !== 'purge') {
  console.error('usage: npm run cache -- purge [--local|--remote] [--env staging|production]')
  process.exit(1)
}
const generation = newGeneration(Date.now())
wrangler([
  'kv',
  'key',
  'put',
  GENERATION_KEY,
  generation,
  '--binding',
  'GROUPS_CACHE',
  target,
  ...envArgs,
])
const { sentence } = propagationBound([
  ['isolate generation cache', GENERATION_TTL_MS / 1000],
  ['KV edge cache', GENERATION_KV_CACHE_TTL_SECONDS],
])
console.log(`purged: cache generation is now ${generation} (${target.slice(2)}). ${sentence}`)
