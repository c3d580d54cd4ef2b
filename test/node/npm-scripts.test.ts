// package.json alone: no server, no process. The scripts themselves are run by
// test/e2e/operations.test.ts, each answering --help among them.
import { describe, expect, it } from 'vitest'
import { ourScripts } from '../e2e/project'

describe('every npm script of ours', () => {
  it('is one the e2e operations tests cover: a new one must be added to them, and here', () => {
    const ours = ourScripts()
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
