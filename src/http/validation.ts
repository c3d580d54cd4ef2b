import type { Hook } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { AppError } from '../errors'

/** What each query parameter must look like, in words a person reads in a 400. */
const EXPECTED: Record<string, string> = {
  limit: 'an integer from 0 to 1000, written with decimal digits only',
  order: "either 'asc' or 'desc'",
  after: 'a group ID of 1 to 128 letters, digits, underscores or hyphens',
}

const MAX_ECHOED_CHARS = 64

/**
 * Turns a failed validation into the upstream's 400 shape, naming the parameter in words rather
 * than relaying zod's issues.
 */
export const validationHook: Hook<unknown, { Bindings: Env }, string, unknown> =
  function validationHook(result, c) {
    if (result.success) return
    const issue = result.error.issues[0]
    const param = typeof issue?.path[0] === 'string' ? issue.path[0] : null
    if (param === null) {
      throw new AppError('invalid_parameter', { message: 'The request is invalid.' })
    }
    throw new AppError('invalid_parameter', { param, message: describe(c, result.target, param) })
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
