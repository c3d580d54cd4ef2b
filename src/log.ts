/** How much an operator should care about a line. */
export type LogLevel = 'info' | 'warn' | 'error'

/** The deployed version's id (the `VERSION` binding), the same for every request of an isolate. */
let version: string | null = null

/**
 * Sets the version every line carries, from the bindings of the event at hand (a request, a cron
 * run). A Durable Object passes `onlyIfUnknown`: in an isolate of its own, its lines need one too.
 */
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

/** An error's name and message for a log line or an operator-only detail (never a secret: callers log only errors of their own I/O). */
export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : 'unknown'
}
