// package.json alone: no server, no process. The scripts themselves are run by
// test/e2e/operations.test.ts, each answering --help among them.
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')

describe('every npm script of ours', () => {
  it('is one the e2e operations tests cover: a new one must be added to them, and here', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>
    }
    const ours = Object.entries(pkg.scripts)
      .filter(
        ([name, command]) =>
          /^(tsx|node) [\w/.-]+$/.test(command) &&
          !name.startsWith('post') &&
          !name.startsWith('pre'),
      )
      .map(([name]) => name)
    expect(ours.sort()).toEqual(
      [
        'bench',
        'cache',
        'deploy',
        'docs:tables',
        'lint:openapi',
        'openapi',
        'partners',
        'secret',
        'setup:chromium',
        'simulator',
        'smoke',
        'start',
        'usage',
      ].sort(),
    )
  })
})
