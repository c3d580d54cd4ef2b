// How every `npm run <script>` reads its arguments: node:util's strict parseArgs, `--help` on every
// script, and one line (never a stack trace) for anything wrong. Exit codes: 0 done, 1 the command
// ran and failed (an unknown partner, an API that refused), 2 the command line itself is wrong
// (nothing was run).
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util'

/** The command line is wrong: nothing was run. Exit 2. */
export class UsageError extends Error {}

/** The command ran and could not do what was asked. Exit 1. */
export class CommandError extends Error {}

export interface CommandSpec<O extends ParseArgsOptionsConfig> {
  /** The script's name as typed: `npm run partners`. */
  name: string
  /** The whole `--help` text, first line the synopsis. */
  help: string
  options: O
  /** Positional arguments allowed: [at least, at most]. */
  positionals?: [min: number, max: number]
}

/** The parse error's own words, reduced to one line that names the argument. */
function usageMessage(err: Error & { code?: string }): string {
  const option = /'(-[^' ]+)/.exec(err.message)?.[1]
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? err.message}`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing|ambiguous/.test(err.message)
        ? `${option} needs a value`
        : `${option} takes no value`
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec(err.message)?.[1] ?? ''}`.trim()
    default:
      return err.message
  }
}

/**
 * Parses `argv` strictly against the spec. `--help` prints the help and exits 0 before anything
 * else is looked at; anything the spec does not allow throws a `UsageError` naming it.
 */
export function readArgs<O extends ParseArgsOptionsConfig>(
  spec: CommandSpec<O>,
  argv: string[] = process.argv.slice(2),
) {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(spec.help.trimEnd())
    process.exit(0)
  }
  let parsed: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>
  try {
    parsed = parseArgs({ args: argv, options: spec.options, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError(usageMessage(err as Error))
  }
  const [min, max] = spec.positionals ?? [0, 0]
  const extra = parsed.positionals[max]
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`)
  if (parsed.positionals.length < min) throw new UsageError('missing argument: see --help')
  return parsed
}

/** A value that must be one of `allowed`, named in the error when it is not. */
export function oneOf<T extends string>(what: string, value: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new UsageError(`${what} must be one of ${allowed.join(', ')}; got '${value}'`)
  }
  return value as T
}

/** A whole number in [min, max], named in the error when it is not one. */
export function integer(what: string, value: string, min: number, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN
  if (!(n >= min && n <= max)) {
    throw new UsageError(`${what} must be a whole number from ${min} to ${max}; got '${value}'`)
  }
  return n
}

/** Whole-number settings from the environment: a bad one exits 2, naming `command` and itself. */
export function envIntegers(command: string) {
  return function setting(name: string, fallback: number, min: number, max: number): number {
    try {
      return integer(name, process.env[name] ?? String(fallback), min, max)
    } catch (err) {
      console.error(`${command}: ${(err as Error).message}`)
      process.exit(2)
    }
  }
}

/**
 * Called once a script has read and checked its arguments, before it touches anything. With
 * GATEWAY_CHECK_ARGS=1 it stops there: the docs' tests check commands that need an account so.
 */
export function argumentsChecked(name: string): void {
  if (process.env.GATEWAY_CHECK_ARGS === '1') {
    console.log(`${name}: arguments ok`)
    process.exit(0)
  }
}

/** A progress line on stderr, so stdout stays what a pipe wants (`| tail -1`, `--json`). */
export function progress(line: string): void {
  process.stderr.write(`${line}\n`)
}

/**
 * Runs a script's body: a `UsageError` exits 2 and any other failure exits 1, each as one line
 * on stderr that starts with the script's name.
 */
export async function main(name: string, body: () => Promise<void> | void): Promise<void> {
  try {
    await body()
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    if (err instanceof UsageError) {
      console.error(`${name}: ${message} (see ${name} -- --help)`)
      process.exit(2)
    }
    console.error(`${name}: ${message.split('\n')[0]}`)
    process.exit(1)
  }
}

/** Whether the module at `url` is the script node was asked to run (through a symlink, too). */
export function isMain(url: string): boolean {
  const entry = process.argv[1]
  if (!entry) return false
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(url))
  } catch {
    return false
  }
}
