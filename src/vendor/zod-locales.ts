// Stands in for zod's `locales/index.js` in the deployed bundle (see `[alias]` in wrangler.toml):
// the gateway writes its own messages and uses only zod's English defaults, while the full set of
// 40-odd locales is half the bundle.
export { default as en } from 'zod/v4/locales/en.js'
