import type { OpenAPIHono, RouteConfig, RouteHandler } from '@hono/zod-openapi'

export interface AppBindings {
  Bindings: Env
  Variables: {
    /** The gateway's clock in epoch milliseconds; injectable so freshness can be tested. */
    now: () => number
  }
}

export type AppOpenAPI = OpenAPIHono<AppBindings>

export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppBindings>
