/**
 * The admin key the tests give the worker and the simulator. It ends in a suffix that cannot occur
 * in a request id (those are hex), so a leak of even the four characters the upstream quotes in a
 * 401 is found wherever it lands.
 */
export const TEST_ADMIN_KEY = 'sk-admin-test-9f8e7d6c5b4a39281706f5e4d3c2-ZqXw'
export const ADMIN_KEY_TELLTALES = [TEST_ADMIN_KEY, TEST_ADMIN_KEY.slice(-4), 'sk-admin']

/** Not a real host: only the fetch spy in test/setup.ts answers it. */
export const TEST_UPSTREAM_BASE_URL = 'https://upstream.test/v1'

/** The partner-key secret the tests give the worker; keys made under any other are made up. */
export const TEST_PARTNER_KEY_SECRET = 'test-partner-key-secret-0123456789abcdef-only-for-tests'
