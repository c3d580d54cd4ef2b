import { OpenAPIHono } from '@hono/zod-openapi'
import type { AppBindings } from './types'
import { validationHook } from './validation'

/** Every router shares the validation hook, so a 400 has one shape everywhere. */
export function createRouter() {
  return new OpenAPIHono<AppBindings>({ strict: true, defaultHook: validationHook })
}
