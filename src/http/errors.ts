import type { Hook } from '@hono/zod-openapi'
import type { Context, ErrorHandler, NotFoundHandler } from 'hono'
import { AppError } from '../errors'

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

/** What each query parameter must look like, in words a person reads in a 400. */
const EXPECTED: Record<string, string> = {
  limit: 'an integer from 0 to 1000, written with decimal digits only',
  order: "either 'asc' or 'desc'",
  after: 'a group ID of 1 to 128 letters, digits, underscores or hyphens',
}

const MAX_ECHOED_CHARS = 64

/** A failed validation as the upstream's 400, naming the parameter in words, not zod's issues. */
export const validationHook: Hook<unknown, { Bindings: Env }, string, unknown> =
  function validationHook(result, c) {
    if (!result.success) throw invalidInput(c, result.target, result.error.issues)
  }

/** The 400 for input that failed its schema: the first issue's parameter, described. */
export function invalidInput(
  c: Context,
  target: string,
  issues: readonly { path: readonly PropertyKey[] }[],
): AppError {
  const first = issues[0]?.path[0]
  const param = typeof first === 'string' ? first : null
  const message = param === null ? 'The request is invalid.' : describe(c, target, param)
  return new AppError('invalid_parameter', { param, message })
}

function describe(c: Context, target: string, param: string): string {
  const values = target === 'query' ? c.req.queries(param) : undefined
  if (values && values.length > 1) {
    return `Invalid '${param}': the parameter was given ${values.length} times; give it at most once.`
  }
  const expected = EXPECTED[param] ?? 'a valid value'
  const given = values?.[0]
  if (given === undefined) return `Invalid '${param}': expected ${expected}.`
  if (given === '') return `Invalid '${param}': expected ${expected}, but it was empty.`
  const shown = given.length > MAX_ECHOED_CHARS ? `${given.slice(0, MAX_ECHOED_CHARS)}…` : given
  return `Invalid '${param}': expected ${expected}, but got ${JSON.stringify(shown)}.`
}
