// `npm run cache -- purge [--local|--remote]`: makes every cached page unreachable at once by
// writing a new cache generation (each page key includes it). Running isolates pick it up within
// the bound the README gives; old pages expire from KV on their own.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { GENERATION_KEY, newGeneration } from '../src/cache/generation'

const [command, ...rest] = process.argv.slice(2)
const target = rest.includes('--remote') ? '--remote' : '--local'
if (command !== 'purge') {
  console.error('usage: npm run cache -- purge [--local|--remote]')
  process.exit(1)
}
const wrangler = join(
  dirname(createRequire(import.meta.url).resolve('wrangler/package.json')),
  'bin/wrangler.js',
)
const generation = newGeneration(Date.now())
const result = spawnSync(
  process.execPath,
  [wrangler, 'kv', 'key', 'put', GENERATION_KEY, generation, '--binding', 'GROUPS_CACHE', target],
  {
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  },
)
if (result.status !== 0) {
  console.error(result.stderr || result.stdout)
  process.exit(1)
}
console.log(`purged: cache generation is now ${generation} (${target.slice(2)})`)
