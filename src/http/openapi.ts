import { OpenAPIHono, type RouteConfig, type RouteHandler } from '@hono/zod-openapi'
import type { Handler, MiddlewareHandler } from 'hono'
import type { ZodType } from 'zod'
import type { ErrorSpec } from '../error-catalogue'
import { ErrorSchema } from '../upstream/schemas'
import { invalidInput, validationHook } from './errors'

/** The gateway's one app: every validation failure is the same 400 (see `validationHook`). */
export function createOpenApiApp() {
  return new OpenAPIHono<{ Bindings: Env }>({ strict: true, defaultHook: validationHook })
}

/**
 * What route modules declare their routes on: the one app itself, never a sub-app (mounting one
 * copies its routes and registers its schemas again, at every isolate's start).
 */
export type App = ReturnType<typeof createOpenApiApp>

/** Query strings a route keeps the validated result of (per isolate), and the longest it keeps. */
export const MAX_KEPT_QUERIES = 256
const MAX_KEPT_QUERY_CHARS = 512

/**
 * Declares a route whose one input is its query: registered for the OpenAPI document exactly as
 * `app.openapi` registers it, and validated by `queryValidator` instead of @hono/zod-validator,
 * whose asynchronous parse was the framework's largest cost on a cached page (docs/benchmarks.md).
 */
export function openapiWithQuery<R extends RouteConfig & { request: { query: ZodType } }>(
  app: App,
  route: R,
  handler: RouteHandler<R, { Bindings: Env }>,
) {
  app.openAPIRegistry.registerPath(route)
  // The handler's typing comes from the route; Hono's `on` takes any handler.
  const untyped = handler as unknown as Handler<{ Bindings: Env }>
  return app.on(
    route.method.toUpperCase(),
    route.path,
    queryValidator(route.request.query),
    untyped,
  )
}

/**
 * Validates the query with `schema`, as @hono/zod-validator does (a parameter given once is a
 * string, more often an array; failures go to `invalidInput`), but synchronously, and keeping the
 * result for each query string it accepted: a result is a function of the query string alone, so
 * a repeat costs one lookup. Refusals are never kept; a full table is emptied, never grown.
 */
function queryValidator(schema: ZodType): MiddlewareHandler<{ Bindings: Env }> {
  const kept = new Map<string, object>()
  return async function queryValidatorMiddleware(c, next) {
    const { url } = c.req
    const at = url.indexOf('?')
    const raw = at === -1 ? '' : url.slice(at + 1)
    let data = kept.get(raw)
    if (data === undefined) {
      const value = Object.fromEntries(
        Object.entries(c.req.queries()).map(([k, v]) => [k, v.length === 1 ? v[0] : v]),
      )
      const result = schema.safeParse(value)
      if (!result.success) throw invalidInput(c, 'query', result.error.issues)
      data = Object.freeze(result.data as object)
      if (raw.length <= MAX_KEPT_QUERY_CHARS) {
        if (kept.size >= MAX_KEPT_QUERIES) kept.clear()
        kept.set(raw, data)
      }
    }
    c.req.addValidatedData('query', data)
    await next()
  }
}

/**
 * An object built when first read. A route's responses are read only to write the OpenAPI
 * document, so they are built when `/openapi.json` is first asked for (or by `npm run openapi`),
 * not at every isolate's start; the document is the same.
 */
export function onFirstUse<T extends object>(build: () => T): T {
  let built: T | undefined
  const real = () => {
    built ??= build()
    return built
  }
  return new Proxy({} as T, {
    get: (_, key) => Reflect.get(real(), key),
    has: (_, key) => Reflect.has(real(), key),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor: (_, key) => Reflect.getOwnPropertyDescriptor(real(), key),
  })
}

type HeaderSchema = { type: 'string' | 'integer'; minimum?: number; enum?: string[] }

export function header(description: string, schema: HeaderSchema = { type: 'string' }) {
  return { description, schema }
}
type Header = ReturnType<typeof header>

const SHOULD_RETRY = header(
  '`true` when retrying may succeed, `false` when it cannot; the official SDK obeys it before its own rules.',
  { type: 'string', enum: ['true', 'false'] },
)
const RETRY_AFTER = header('Seconds to wait before retrying.', { type: 'integer', minimum: 1 })
const RETRY_AFTER_MS = header(
  'Milliseconds to wait, when the upstream said so precisely; the official SDK prefers it to `Retry-After`.',
  { type: 'integer', minimum: 0 },
)

/**
 * A route's error responses, from catalogue entries: per status, each error's case, code and retry
 * hints in words, and the first one's body as the example. Given the headers all the route's
 * answers carry (`always`), also the retry headers and fixed headers of the status's errors.
 */
export function errorResponses(errors: ErrorSpec[], always?: Record<string, Header>) {
  const byStatus = [...Map.groupBy(errors, (e) => e.status)].map(([status, group]) => {
    const [{ message, type, param = null, code, headers = {} }] = group as [ErrorSpec]
    const example = { error: { message, type, param, code } }
    const limited = group.some((e) => e.code === 'rate_limit_exceeded')
    const fixed = Object.entries(headers).map(([name, v]) => [name, header(`Always \`${v}\`.`)])
    const response = {
      description: group.map(describe).join(' '),
      ...(always && {
        headers: {
          ...always,
          'x-should-retry': SHOULD_RETRY,
          ...(group.some((e) => e.retryAfter !== null) && { 'Retry-After': RETRY_AFTER }),
          ...(limited && { 'retry-after-ms': RETRY_AFTER_MS }),
          ...Object.fromEntries(fixed),
        },
      }),
      content: { 'application/json': { schema: ErrorSchema, example } },
    }
    return [status, response] as const
  })
  return Object.fromEntries(byStatus)
}

/** One error's case, code and retry hints, in a sentence. */
function describe(e: ErrorSpec): string {
  const hints = [e.code ? `\`${e.code}\`` : e.relayed ? "the upstream's `code`" : 'no `code`']
  if (e.shouldRetry !== null) hints.push(`\`x-should-retry: ${e.shouldRetry}\``)
  if (e.retryAfter === 1) hints.push('`Retry-After: 1`')
  return `${e.when.replace(/\.$/, '')} (${hints.join(', ')}).`
}
