import { type AppOptions, createApp, createState } from './app'
import { serveHotHit } from './hot-path'

/**
 * The worker: hot hits are answered from memory by `serveHotHit`, everything else by the app.
 * Both share one state, so what the app learns the hot path can use.
 */
export function createGateway(options: AppOptions = {}) {
  const state = options.state ?? createState()
  const now = options.now ?? Date.now
  const app = createApp({ now, state })
  return {
    app,
    fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
      return serveHotHit(request, env, ctx, state, now) ?? app.fetch(request, env, ctx)
    },
  }
}
