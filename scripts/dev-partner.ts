/**
 * What `npm start` runs with locally, so the README's examples work as they are: a partner-key
 * secret that exists only here, and a partner whose key carries a check value under it. Written to
 * local state only, never to a deployed namespace; a deployed gateway has its own secret, under
 * which this key is refused on sight.
 */
export const DEV_PARTNER_KEY_SECRET = 'local-development-partner-key-secret-never-use-remotely'
export const DEV_PARTNER_NAME = 'local-dev'
/** `gwp_local-development-key-never-use-it-remotely` and its check under DEV_PARTNER_KEY_SECRET. */
export const DEV_PARTNER_KEY =
  'gwp_local-development-key-never-use-it-remotely.eShJT_be0_y-L49XTtDxww'
/** The operator key `npm start` gives its worker, so `POST /admin/cache/purge` works locally. */
export const DEV_OPERATOR_KEY = 'local-development-operator-key-never-use-it-remotely'
