export type LogLevel = 'info' | 'warn' | 'error'

/** The deployed version's id (the `VERSION` binding), the same for every event of an isolate. */
let version: string | null = null

/** Sets it from the event at hand; a Durable Object, in an isolate of its own, if still unknown. */
export function setLogVersion(id: string | null, onlyIfUnknown = false): void {
  if (!onlyIfUnknown || version === null) version = id
}

/**
 * One structured JSON line per event, so logs can be queried in Workers Logs. Callers pass only
 * fields that are safe to keep: never a key, never an upstream error body.
 */
export function log(level: LogLevel, event: string, fields: Record<string, unknown>): void {
  const line = JSON.stringify({ level, event, version, ...fields })
  if (level === 'error') console.error(line)
  else if (level === 'warn') console.warn(line)
  else console.log(line)
}

/** An error's name and message; callers pass only errors of their own I/O, so never a secret. */
export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : 'unknown'
}
