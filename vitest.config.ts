import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'
import {
  TEST_ADMIN_KEY,
  TEST_PARTNER_KEY_SECRET,
  TEST_UPSTREAM_BASE_URL,
} from './test/constants.ts'

// The suite never sees a real admin key, even one exported in the developer's shell.
process.env.OPENAI_ADMIN_KEY = TEST_ADMIN_KEY
process.env.PARTNER_KEY_SECRET = TEST_PARTNER_KEY_SECRET
// The plugin reads wrangler.toml through wrangler, which says where each worker's secrets came
// from (once per test file): the bindings below override them all, so only warnings are worth
// printing.
process.env.WRANGLER_LOG ??= 'warn'

export default defineConfig({
  test: {
    projects: [
      {
        // Unit and integration tests, inside workerd with real local KV, Durable Objects and
        // rate limiters; the upstream is the in-process simulator behind a fetch spy.
        plugins: [
          cloudflareTest({
            main: './src/index.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              // This host does not exist: any request that escapes the spy in test/setup.ts
              // fails the test.
              bindings: {
                OPENAI_ADMIN_KEY: TEST_ADMIN_KEY,
                PARTNER_KEY_SECRET: TEST_PARTNER_KEY_SECRET,
                OPENAI_BASE_URL: TEST_UPSTREAM_BASE_URL,
                // Tests about one upstream outcome see it once; the retry tests turn retries on.
                UPSTREAM_MAX_RETRIES: '0',
                UPSTREAM_RETRY_BASE_MS: '5',
                // `call` waits for a request's waitUntil work, which a trailing demand send would
                // hold for up to 20 s: the tests about that send set the shipped 60 themselves.
                PREWARM_FLUSH_SECONDS: '0',
              },
            },
          }),
        ],
        test: {
          name: 'workers',
          setupFiles: ['./test/setup.ts'],
          include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
        },
      },
      {
        // Pure checks in Node: parsing the documents and package.json, no worker, no server, no
        // process. Fast, and free of the e2e project's setup.
        test: {
          name: 'unit-node',
          environment: 'node',
          include: ['test/node/**/*.test.ts'],
        },
      },
      {
        // Real clients against the worker running under `wrangler dev` on loopback, wired to the
        // simulator over HTTP: Chromium driving Swagger UI, and a generated SDK.
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['./test/e2e/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
})
