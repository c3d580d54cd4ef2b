import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '../..')

/** Every TypeScript file under a folder, as paths relative to the project. */
function files(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => relative(root, join(root, dir, f)))
    .sort()
}

/** The files the architecture page's Layout tree lists, with their folders resolved. */
function listed(): string[] {
  const page = readFileSync(join(root, 'docs/architecture.md'), 'utf8')
  const tree = /## Layout[\s\S]*?```\n([\s\S]*?)```/.exec(page)?.[1] ?? ''
  const paths: string[] = []
  const folders: string[] = []
  for (const line of tree.split('\n').filter(Boolean)) {
    const depth = (line.length - line.trimStart().length) / 2
    const name = line.trim().split(/\s+/)[0] as string
    folders.length = depth
    if (name.endsWith('/')) folders.push(name.slice(0, -1))
    else paths.push([...folders, name].join('/'))
  }
  return paths.sort()
}

describe('docs/architecture.md', () => {
  it('lists every file of src/ in its Layout, and no file that is not there', () => {
    expect(listed()).toEqual(files('src'))
  })
})
