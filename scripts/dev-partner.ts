/**
 * The partner `npm start` registers in local KV so the README's examples work as they are. It is
 * written to local state only, never to a deployed namespace.
 */
export const DEV_PARTNER_NAME = 'local-dev'
export const DEV_PARTNER_KEY = 'gwp_local-development-key-never-use-it-remotely'
