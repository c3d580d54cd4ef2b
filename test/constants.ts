/** The admin key the tests give the worker and the simulator. No response may ever contain it. */
export const TEST_ADMIN_KEY = 'sk-admin-test-9f8e7d6c5b4a39281706f5e4d3c2b1a0'
/** Not a real host: only the fetch spy in test/setup.ts answers it. */
export const TEST_UPSTREAM_BASE_URL = 'https://upstream.test/v1'
