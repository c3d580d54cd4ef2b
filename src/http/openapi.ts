import { OpenAPIHono } from '@hono/zod-openapi'
import type { ErrorSpec } from '../errors'
import { ErrorSchema } from '../upstream/schemas'
import { validationHook } from './validation'

/** A router whose validation failures are all the same 400 (see `validationHook`). */
export function createRouter() {
  return new OpenAPIHono<{ Bindings: Env }>({ strict: true, defaultHook: validationHook })
}

type Header = {
  description: string
  schema: { type: 'string' | 'integer'; minimum?: number; enum?: string[] }
}
/** Response headers as the contract declares them. */
export type Headers = Record<string, Header>

export function header(description: string, schema: Header['schema'] = { type: 'string' }): Header {
  return { description, schema }
}

/** A contract response for errors of one status: their cases in words, the first as example. */
export function errorResponse(errors: ErrorSpec[], headers: Headers = {}) {
  const [{ message, type, param = null, code }] = errors as [ErrorSpec]
  return {
    description: errors.map(describe).join(' '),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    content: {
      'application/json': {
        schema: ErrorSchema,
        example: { error: { message, type, param, code } },
      },
    },
  }
}

/** One error's case, code and retry hints, in a sentence. */
function describe(e: ErrorSpec): string {
  const hints = [e.code ? `\`${e.code}\`` : e.relayed ? "the upstream's `code`" : 'no `code`']
  if (e.shouldRetry !== null) hints.push(`\`x-should-retry: ${e.shouldRetry}\``)
  if (e.retryAfter === 1) hints.push('`Retry-After: 1`')
  return `${e.when.replace(/\.$/, '')} (${hints.join(', ')}).`
}
