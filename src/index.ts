import { createApp } from './app'

export { PageFetcher } from './pages/fetcher'

/** One app per isolate: its state (memory tier, key lookups, rate-limit counts) lives as long. */
const app = createApp()

export default { fetch: app.fetch } satisfies ExportedHandler<Env>
