import { createGateway } from './gateway'

export { PageFetcher } from './cache/page-fetcher'

const gateway = createGateway()

export default { fetch: gateway.fetch } satisfies ExportedHandler<Env>
