// The deploy bundle itself (`wrangler deploy --dry-run --minify`, as `npm run deploy` uploads
// it), run in workerd: wrangler.toml's `[alias]` swaps zod modules for stand-ins in it alone, so
// only this bundle can show the stand-ins change nothing a partner or an SDK generator sees.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { convertV4MiniflareOptions, Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OFFLINE_ENV, WRANGLER } from '../../scripts/wrangler'

const out = mkdtempSync(join(tmpdir(), 'groups-gateway-bundle-'))
let mf: Miniflare
let bundle: string

beforeAll(async () => {
  const build = spawnSync(
    process.execPath,
    [WRANGLER, 'deploy', '--dry-run', '--minify', '--outdir', out],
    { encoding: 'utf8', env: { ...process.env, ...OFFLINE_ENV } },
  )
  expect(build.status, build.stderr).toBe(0)
  bundle = readFileSync(join(out, 'index.js'), 'utf8')
  mf = new Miniflare(
    convertV4MiniflareOptions({
      workers: [
        {
          name: 'gateway',
          modules: true,
          modulesRoot: out,
          scriptPath: join(out, 'index.js'),
          compatibilityDate: '2026-11-01',
          bindings: { OPENAI_ADMIN_KEY: 'sk-admin-unused', PARTNER_KEY_SECRET: 'x'.repeat(40) },
          kvNamespaces: ['GROUPS_CACHE', 'PARTNERS'],
        },
      ],
    }),
  )
}, 60_000)
afterAll(async () => {
  await mf?.dispose()
  rmSync(out, { recursive: true, force: true })
})

describe('the minified deploy bundle', () => {
  it('leaves out the zod modules wrangler.toml aliases away (z.compile, fromJSONSchema)', () => {
    // Messages only those modules hold, and the stand-in's own (booleans: never print the bundle).
    expect(bundle.includes('z.compile does not support')).toBe(false)
    expect(bundle.includes('Circular reference not resolved')).toBe(false)
    expect(bundle.includes('left out of the gateway')).toBe(true)
  })

  it('serves /openapi.json equal to the committed openapi/openapi.json', async () => {
    const res = await mf.dispatchFetch('http://gateway.test/openapi.json')
    expect(res.status).toBe(200)
    const committed = JSON.parse(readFileSync('openapi/openapi.json', 'utf8'))
    expect(await res.json()).toEqual(committed)
  })
})
