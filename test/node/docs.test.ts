// What the documents say, checked by parsing alone: no server, no process. The blocks themselves
// are run by test/e2e/docs.test.ts.
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { satisfies } from 'semver'
import { describe, expect, it } from 'vitest'
import { blocks, documents } from '../e2e/doctest'

const ROOT = resolve(import.meta.dirname, '../..')
const DOCUMENTS = documents(ROOT)

describe('README.md, what npm install prints on Node 20', () => {
  it('names every locked package whose engines refuse Node 20 (the EBADENGINE warnings)', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { engines?: { node?: string } }>
    }
    const refusing = Object.entries(lock.packages).flatMap(([path, entry]) =>
      path && entry.engines?.node && !satisfies('20.20.0', entry.engines.node)
        ? [path.replace(/^.*node_modules\//, '')]
        : [],
    )
    expect(refusing.length).toBeGreaterThan(0)
    const sentence = /`EBADENGINE Unsupported engine` warnings for([\s\S]*?)\(they want/.exec(
      readFileSync(join(ROOT, 'README.md'), 'utf8'),
    )?.[1]
    const named = [...(sentence ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1])
    expect(named.sort()).toEqual([...new Set(refusing)].sort())
  })
})

for (const document of DOCUMENTS) {
  describe(document, () => {
    const found = blocks(readFileSync(join(ROOT, document), 'utf8'))
    const notRun = found.flatMap((b) => (b.mode.kind === 'skip' ? [b.mode.reason] : []))
    it(`has ${found.length} shell blocks: ${found.length - notRun.length} the e2e docs test runs or checks, ${notRun.length} not run, each saying why`, () => {
      expect(found.length).toBeGreaterThan(0)
      for (const reason of notRun) expect(reason).toMatch(/^.{20,}$/)
    })
  })
}
