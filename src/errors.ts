import { type ErrorName, errorSpecs, type Status } from './error-catalogue'
import { errorText, type LogLevel } from './log'

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
}

export interface ErrorInit {
  message?: string
  param?: string | null
  /** The `Retry-After` seconds of a 'computed' wait. */
  retryAfter?: number
  headers?: Record<string, string>
  /** Logged, never sent: what an operator needs to know. Must hold no secret. */
  detail?: string
  cause?: unknown
  /** A relayed refusal's own type and code. */
  type?: string
  code?: string | null
}

/** An error as plain data, to cross a Durable Object call. */
export interface SerializedError {
  name: ErrorName
  status: number
  body: ErrorBody
  headers: Record<string, string>
  detail?: string | undefined
}

/**
 * An error with the answer the caller should see, built from its catalogue entry. Thrown anywhere;
 * `onError` (http/errors.ts) sends it. Like Hono's `HTTPException`, it carries a `cause`.
 */
export class AppError extends Error {
  readonly status: Status
  readonly body: ErrorBody
  readonly headers: Record<string, string>
  readonly detail: string | undefined
  readonly level: LogLevel | undefined

  constructor(
    readonly kind: ErrorName,
    init: ErrorInit = {},
  ) {
    const s = errorSpecs()[kind]
    const message = init.message ?? s.message
    super(message, { cause: init.cause })
    this.name = 'AppError'
    this.status = s.status
    this.body = {
      error: {
        message,
        type: init.type ?? s.type,
        param: init.param ?? null,
        code: init.code === undefined ? s.code : init.code,
      },
    }
    this.headers = { ...s.headers, ...init.headers }
    if (s.shouldRetry !== null) this.headers['x-should-retry'] = String(s.shouldRetry)
    const wait = s.retryAfter === 1 ? 1 : init.retryAfter
    if (wait !== undefined) this.headers['Retry-After'] = String(wait)
    this.detail = init.detail ?? (init.cause === undefined ? undefined : errorText(init.cause))
    this.level = s.level
  }

  /** The same error with more headers, or another operator-only detail. */
  with({ headers, detail = this.detail }: { headers?: Record<string, string>; detail?: string }) {
    return AppError.from({ ...this.toJSON(), headers: { ...this.headers, ...headers }, detail })
  }

  toJSON(): SerializedError {
    const { kind: name, status, body, headers, detail } = this
    return { name, status, body, headers, detail }
  }

  static from(e: SerializedError): AppError {
    const { message, param, type, code } = e.body.error
    const { headers, detail } = e
    return new AppError(e.name, { message, param, type, code, headers, detail })
  }
}
