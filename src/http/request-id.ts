import type { MiddlewareHandler } from 'hono'

declare module 'hono' {
  interface ContextVariableMap {
    /** The gateway's own id for this request: in its log line, its answer and the upstream call. */
    requestId: string
    /** The id the client sent as `X-Request-Id`, if usable: kept beside ours, never instead. */
    clientRequestId: string | undefined
  }
}

/** What a client's own id may look like to be kept: short, and nothing a log could misread. */
const CLIENT_REQUEST_ID = /^[\w.:=-]{1,128}$/

/**
 * Gives every request an id of the gateway's own (a UUID), sent back as `X-Request-Id`. A client's
 * `X-Request-Id` never replaces it, so no client can choose the id another's requests are logged
 * or traced under; a usable one is kept beside it, as `X-Client-Request-Id` and in the log line.
 */
export function requestId(): MiddlewareHandler {
  return async function requestIdMiddleware(c, next) {
    const id = crypto.randomUUID()
    c.set('requestId', id)
    c.header('X-Request-Id', id)
    const client = c.req.header('x-request-id')
    if (client !== undefined && CLIENT_REQUEST_ID.test(client)) {
      c.set('clientRequestId', client)
      c.header('X-Client-Request-Id', client)
    }
    await next()
  }
}
