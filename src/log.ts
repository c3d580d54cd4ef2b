/** How much an operator should care about a line. */
export type LogLevel = 'info' | 'warn' | 'error'

/**
 * One structured JSON line per event, so logs can be queried in Workers Logs. Callers pass only
 * fields that are safe to keep: never a key, never an upstream error body.
 */
export function log(level: LogLevel, event: string, fields: Record<string, unknown>): void {
  const line = JSON.stringify({ level, event, ...fields })
  if (level === 'error') console.error(line)
  else if (level === 'warn') console.warn(line)
  else console.log(line)
}
