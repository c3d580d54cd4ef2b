import { z } from '@hono/zod-openapi'
import type { Context, ErrorHandler, NotFoundHandler } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { LogLevel } from './log'

declare module 'hono' {
  interface ContextVariableMap {
    /** What went wrong, for operators only: logged, never sent. */
    errorDetail: string
    /** The request log line's level, when the status alone does not say it. */
    logLevel: LogLevel
  }
}

export const ErrorSchema = z
  .object({
    error: z
      .object({
        message: z.string().openapi({ description: 'A human-readable description of the error.' }),
        type: z.string().openapi({
          description: 'The error category, e.g. `invalid_request_error` or `server_error`.',
        }),
        param: z
          .string()
          .nullable()
          .openapi({ description: 'The request parameter the error is about, if any.' }),
        code: z
          .string()
          .nullable()
          .openapi({ description: 'A machine-readable error code, if any.' }),
      })
      .openapi({ description: 'Details of the error.' }),
  })
  .openapi('Error', {
    description: 'The error envelope, identical in shape to the OpenAI API\u2019s.',
    example: {
      error: {
        message:
          'Invalid \'limit\': expected an integer from 0 to 1000 written with decimal digits only, but got "abc".',
        type: 'invalid_request_error',
        param: 'limit',
        code: null,
      },
    },
  })

export type ErrorBody = z.infer<typeof ErrorSchema>

export interface SerializedError {
  status: number
  body: ErrorBody
  headers: Record<string, string>
  detail?: string | undefined
  level?: LogLevel | undefined
}

interface AppErrorInit {
  message: string
  type: string
  param?: string | null
  code?: string | null
  headers?: Record<string, string>
  /** Logged, never sent: what an operator needs to know. Must hold no secret. */
  detail?: string
  /** Sent as `x-should-retry`, which the official SDK obeys before its own rules. */
  shouldRetry?: boolean
  /** The log line's level, if not the one its status implies (error for 5xx, info otherwise). */
  level?: LogLevel
}

/**
 * An error with the status and body the caller should see. Handlers and services throw it;
 * `onError` turns it into a response, so the error shape is produced in one place.
 */
export class AppError extends Error {
  readonly status: ContentfulStatusCode
  readonly body: ErrorBody
  readonly headers: Record<string, string>
  readonly detail: string | undefined
  readonly level: LogLevel | undefined

  constructor(status: ContentfulStatusCode, init: AppErrorInit) {
    super(init.message)
    this.name = 'AppError'
    this.status = status
    this.body = {
      error: {
        message: init.message,
        type: init.type,
        param: init.param ?? null,
        code: init.code ?? null,
      },
    }
    this.headers = { ...init.headers }
    if (init.shouldRetry !== undefined) this.headers['x-should-retry'] = String(init.shouldRetry)
    this.detail = init.detail
    this.level = init.level
  }

  static invalidParam(param: string, message: string): AppError {
    return new AppError(400, { message, type: 'invalid_request_error', param, shouldRetry: false })
  }

  /** The upstream (or the way to it) failed with nothing more precise to say. */
  static upstreamFailed(detail?: string): AppError {
    return new AppError(502, {
      message: 'The upstream API failed to answer. Please retry.',
      type: 'server_error',
      code: 'upstream_error',
      detail,
      shouldRetry: true,
      headers: { 'Retry-After': '1' },
    })
  }

  /** The same error with another operator-only detail. */
  withDetail(detail: string): AppError {
    return new AppError(this.status, {
      ...this.body.error,
      headers: this.headers,
      detail,
      level: this.level,
    })
  }

  /** As plain data, to cross a Durable Object call. */
  toJSON(): SerializedError {
    return {
      status: this.status,
      body: this.body,
      headers: this.headers,
      detail: this.detail,
      level: this.level,
    }
  }

  /** An operator error (a missing secret, a malformed var): logged in full, generic to the caller. */
  static misconfigured(detail: string): AppError {
    return new AppError(500, {
      message: 'The gateway is not configured correctly. Please contact its operators.',
      type: 'server_error',
      code: 'gateway_misconfigured',
      detail,
      shouldRetry: false,
    })
  }
}

/**
 * Turns a thrown error into the upstream's error shape; anything unexpected becomes a generic 500.
 * What operators need goes to the request's log line (`errorDetail`), never to the caller.
 */
export const onError: ErrorHandler = function onError(err, c) {
  c.header('Cache-Control', 'no-store')
  if (err instanceof AppError) {
    if (err.detail) c.set('errorDetail', err.detail)
    if (err.level) c.set('logLevel', err.level)
    return c.json(err.body, err.status, err.headers)
  }
  c.set('errorDetail', err instanceof Error ? `${err.name}: ${err.message}` : 'non-error thrown')
  return c.json(
    {
      error: {
        message:
          'The gateway hit an unexpected error. Please retry; if it persists, contact its operators.',
        type: 'server_error',
        param: null,
        code: null,
      },
    } satisfies ErrorBody,
    500,
  )
}

export const notFound: NotFoundHandler = function notFound(c) {
  c.header('Cache-Control', 'no-store')
  c.header('x-should-retry', 'false')
  return c.json(
    {
      error: {
        message: `Invalid URL (${c.req.method} ${new URL(c.req.url).pathname})`,
        type: 'invalid_request_error',
        param: null,
        code: 'unknown_url',
      },
    } satisfies ErrorBody,
    404,
  )
}

/** For a path that exists under other methods: 405 with the `Allow` header RFC 9110 requires. */
export function methodNotAllowed(allow: readonly string[]) {
  return function methodNotAllowedHandler(c: Context): never {
    throw new AppError(405, {
      message: `Method ${c.req.method} is not allowed on ${new URL(c.req.url).pathname}; use ${allow.join(' or ')}.`,
      type: 'invalid_request_error',
      code: 'method_not_allowed',
      headers: { Allow: allow.join(', ') },
      shouldRetry: false,
    })
  }
}
