import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'
import { TEST_ADMIN_KEY, TEST_UPSTREAM_BASE_URL } from './test/constants.ts'

// The suite never sees a real admin key, even one exported in the developer's shell.
process.env.OPENAI_ADMIN_KEY = TEST_ADMIN_KEY

export default defineConfig({
  plugins: [
    cloudflareTest({
      main: './src/index.ts',
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        // The upstream is the in-process simulator behind a fetch spy (test/setup.ts): this host
        // does not exist, and any request that escapes the spy fails the test.
        bindings: {
          OPENAI_ADMIN_KEY: TEST_ADMIN_KEY,
          OPENAI_BASE_URL: TEST_UPSTREAM_BASE_URL,
          // Tests about one upstream outcome see it once; the retry tests turn retries on.
          UPSTREAM_MAX_RETRIES: '0',
          UPSTREAM_RETRY_BASE_MS: '5',
        },
      },
    }),
  ],
  test: {
    setupFiles: ['./test/setup.ts'],
    include: ['test/**/*.test.ts'],
  },
})
