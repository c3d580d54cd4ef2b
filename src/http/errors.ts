import type { Context, ErrorHandler, NotFoundHandler } from 'hono'
import { AppError } from '../errors'
import type { LogLevel } from '../log'

declare module 'hono' {
  interface ContextVariableMap {
    /** What went wrong, for operators only: logged, never sent. */
    errorDetail: string
    /** The request log line's level, when the status alone does not say it. */
    logLevel: LogLevel
  }
}

/**
 * Sends a thrown error in the upstream's shape; anything unexpected becomes a generic 500. What
 * operators need goes to the request's log line (`errorDetail`), never to the caller.
 */
export const onError: ErrorHandler = function onError(err, c) {
  const error = err instanceof AppError ? err : new AppError('internal_error', { cause: err })
  if (error.detail) c.set('errorDetail', error.detail)
  if (error.level) c.set('logLevel', error.level)
  c.header('Cache-Control', 'no-store')
  return c.json(error.body, error.status, error.headers)
}

export const notFound: NotFoundHandler = function notFound(c) {
  const message = `Invalid URL (${c.req.method} ${new URL(c.req.url).pathname})`
  return onError(new AppError('unknown_url', { message }), c)
}

/** For a path that exists under other methods: 405 with the `Allow` header RFC 9110 requires. */
export function methodNotAllowed(allow: readonly string[]) {
  return function methodNotAllowedHandler(c: Context): never {
    throw new AppError('method_not_allowed', {
      message: `Method ${c.req.method} is not allowed on ${new URL(c.req.url).pathname}; use ${allow.join(' or ')}.`,
      headers: { Allow: allow.join(', ') },
    })
  }
}
