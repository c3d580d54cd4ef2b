// The README's generated tables, from the code that defines what they describe: the vars' table
// (src/config.ts) and the error catalogue (src/error-catalogue.ts). Pure, so the suite can run it in workerd.
import { VAR_DESCRIPTIONS, VARS } from '../src/config'
import { errorSpecs } from '../src/error-catalogue'

const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`
const code = (text: string | number) => (text === '' ? '(empty)' : `\`${text}\``)

/** Each var: its default, its range if it is a number, and what it does. */
export function configTable(): string {
  const rows = Object.entries(VARS).map(([name, rule]) => {
    const range = rule.kind === 'integer' ? `${rule.min}..${rule.max}` : ''
    const description = VAR_DESCRIPTIONS[name as keyof typeof VAR_DESCRIPTIONS]
    return row([code(name), code(rule.default), range, description])
  })
  return [
    row(['Var', 'Default', 'Range', 'What it does']),
    row(['---', '---', '---', '---']),
    ...rows,
  ].join('\n')
}

/** Each error: status, code, its retry hints, and when a client gets it. */
export function errorsTable(): string {
  const rows = Object.values(errorSpecs()).map((e) =>
    row([
      e.status,
      e.code ? code(e.code) : e.relayed ? "the upstream's" : '`null`',
      e.shouldRetry === null ? '(none)' : String(e.shouldRetry),
      e.retryAfter === null ? 'no' : e.retryAfter === 1 ? '1' : 'yes',
      e.when,
    ]),
  )
  const head = ['Status', '`code`', '`x-should-retry`', '`Retry-After`', 'When']
  return [row(head), row(head.map(() => '---')), ...rows].join('\n')
}

export const TABLES = { config: configTable, errors: errorsTable }

/** `text` with each generated table between its markers replaced by what the code says now. */
export function withTables(text: string): string {
  let out = text
  for (const [name, render] of Object.entries(TABLES)) {
    const pattern = new RegExp(
      `(<!-- generated:${name} [^\\n]*-->\\n)[\\s\\S]*?(\\n<!-- /generated:${name} -->)`,
    )
    if (!pattern.test(out)) throw new Error(`no generated:${name} markers`)
    out = out.replace(pattern, (_, open: string, close: string) => `${open}${render()}${close}`)
  }
  return out
}
