// The documents' shell blocks, as the suite runs them (after Rust's doctests). A block is run as
// written unless the HTML comment on the line above its fence says otherwise:
//
//   <!-- doctest: skip REASON -->          not run; the reason is required
//   <!-- doctest: account -->              needs a Cloudflare account: every line runs with our
//                                          scripts stopping once their arguments are checked, and
//                                          `wrangler` checking its command and flags against
//                                          the pinned wrangler's own --help
//   <!-- doctest: registry -->             `npm i` lines: each pinned version must be the one
//                                          package.json pins; the project's node_modules stands in
//   <!-- doctest: background URL -->       a server: started, kept running until the document
//                                          ends, ready when URL answers
//   <!-- doctest: file NAME -->            (any language) the block is written to NAME
//
// A fence without a language, right after a shell block (blank lines between), is that block's
// expected standard output: line by line, where `...` alone matches any number of lines and `...`
// inside a line matches any text.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

/** The documents whose blocks are tests, in the order they run: the README, then docs/ by name. */
export function documents(root: string): string[] {
  const pages = readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md'))
  return ['README.md', ...pages.sort().map((f) => `docs/${f}`)]
}

export type Mode =
  | { kind: 'run' }
  | { kind: 'skip'; reason: string }
  | { kind: 'account' }
  | { kind: 'registry' }
  | { kind: 'background'; ready: string }
  | { kind: 'file'; name: string }

export interface Block {
  /** 1-based line of the opening fence. */
  line: number
  lang: string
  code: string
  mode: Mode
  expected?: string
}

const SHELL = new Set(['sh', 'bash', 'shell'])

function modeOf(comment: string | undefined): Mode {
  const m = comment && /^<!--\s*doctest:\s*(\S+)\s*(.*?)\s*-->$/.exec(comment.trim())
  if (!m) return { kind: 'run' }
  const [, kind, rest = ''] = m
  switch (kind) {
    case 'skip':
      if (!rest) throw new Error('a skipped block must say why')
      return { kind: 'skip', reason: rest }
    case 'account':
      return { kind: 'account' }
    case 'registry':
      return { kind: 'registry' }
    case 'background':
      return { kind: 'background', ready: rest }
    case 'file':
      return { kind: 'file', name: rest }
    default:
      throw new Error(`unknown doctest mode '${kind}'`)
  }
}

/** The blocks of a markdown document that the suite runs or checks, in order. */
export function blocks(markdown: string): Block[] {
  const lines = markdown.split('\n')
  const found: Block[] = []
  let last: Block | undefined
  let blankSince = true
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i] ?? '')
    if (!open) {
      if ((lines[i] ?? '').trim() !== '') {
        blankSince = false
      }
      continue
    }
    const lang = open[1] ?? ''
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l))
    if (end === -1) throw new Error(`line ${i + 1}: a fence that never closes`)
    const code = lines.slice(i + 1, end).join('\n')
    const mode = modeOf(lines[i - 1])
    if (lang === '' && last && blankSince && last.expected === undefined) {
      last.expected = code
    } else if (SHELL.has(lang) || mode.kind === 'file') {
      last = { line: i + 1, lang, code, mode }
      found.push(last)
    } else {
      last = undefined
    }
    i = end
    blankSince = true
  }
  return found
}

/** Whether `actual` is what `expected` shows, `...` standing for what the document leaves out. */
export function matches(expected: string, actual: string): boolean {
  const want = expected.split('\n').map((l) => l.trimEnd())
  const got = actual
    .replace(/\r/g, '')
    .trimEnd()
    .split('\n')
    .map((l) => l.trimEnd())
  const lineMatches = (pattern: string, line: string) => {
    const parts = pattern.split('...').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    return new RegExp(`^${parts.join('.*')}$`, 's').test(line)
  }
  const walk = (w: number, g: number): boolean => {
    if (w === want.length) return g === got.length
    if (want[w] === '...') {
      for (let k = g; k <= got.length; k++) if (walk(w + 1, k)) return true
      return false
    }
    return g < got.length && lineMatches(want[w] ?? '', got[g] ?? '') && walk(w + 1, g + 1)
  }
  return walk(0, 0)
}
