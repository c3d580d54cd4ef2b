// Stands in, in the deployed bundle only (see `[alias]` in wrangler.toml), for three zod modules
// that `export * as z` drags in whole though nothing here calls them: `z.compile` (a JIT that needs
// `eval`, which Workers forbid), `z.fromJSONSchema` and the `JSONSchemaGenerator` class. They are
// about a sixth of the bundle. Should anything call one, it fails loudly, never silently.
const absent = (name: string) => () => {
  throw new Error(`zod's ${name} is left out of the gateway's bundle (src/vendor/zod-unused.ts)`)
}
export const INVALID = Symbol.for('zod.compile.invalid')
export class ZodCompileAsyncError extends Error {}
export class ZodCompileUnsupportedError extends Error {}
export const compile = absent('compile')
export const compileFn = absent('compileFn')
export const withParser = absent('withParser')
export const fromJSONSchema = absent('fromJSONSchema')
export class JSONSchemaGenerator {
  constructor() {
    absent('JSONSchemaGenerator')()
  }
}
