import { OpenAPIHono } from '@hono/zod-openapi'
import { validationHook } from './validation'

/** Every router shares the validation hook, so a 400 has one shape everywhere. */
export function createRouter() {
  return new OpenAPIHono<{ Bindings: Env }>({ strict: true, defaultHook: validationHook })
}
