import { createApp } from './app'

export { PageFetcher } from './cache/page-fetcher'

export default createApp()
