import { createApp, createState } from './app'
import { setLogVersion } from './log'
import { runPrewarm } from './prewarm/cron'

export { PageFetcher } from './pages/fetcher'
export { PopularPages } from './prewarm/popular'

/** One state per isolate: its memory tier, key lookups and rate-limit counts live as long. */
const state = createState()

export default {
  fetch: createApp(state).fetch,
  /** The pre-warm cron (wrangler.toml `[triggers]`), through the same page service as requests. */
  scheduled(_controller, env, ctx) {
    // A cron run may be the isolate's first event: its lines carry the version too.
    setLogVersion(env.VERSION?.id ?? null)
    ctx.waitUntil(runPrewarm(env, state, (promise) => ctx.waitUntil(promise)))
  },
} satisfies ExportedHandler<Env>
