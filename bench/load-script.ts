// bench/load.ts bundled for node (its packages left to node_modules), so that each load process
// starts quicker than through tsx. Shared by `npm run bench` and its `--together`.
import { build } from 'esbuild'

export async function buildLoadScript(outfile: string): Promise<void> {
  await build({
    entryPoints: ['bench/load.ts'],
    outfile,
    bundle: true,
    packages: 'external',
    format: 'esm',
    platform: 'node',
    target: 'node22',
    logLevel: 'warning',
  })
}
