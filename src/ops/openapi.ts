import pkg from '../../package.json'

/** The document's top level, shared by the served `/openapi.json` and `npm run openapi`. */
export const OPENAPI_PATH = '/openapi.json'

/** The bearer scheme partners authenticate with. */
export const PARTNER_KEY_SCHEME = 'PartnerKey'

export const documentConfig = {
  openapi: '3.1.0',
  info: {
    title: 'Groups Gateway',
    version: pkg.version,
    description:
      'An edge gateway on Cloudflare Workers in front of the OpenAI Admin API\u2019s List groups endpoint. It answers with the same path, parameters, page and error shapes as the upstream, so the official `openai` SDK works pointed at it (`baseURL` = this origin + `/v1`), and serves pages from a Workers KV cache while they are fresh. The upstream admin key never leaves the gateway.',
    license: { name: 'MIT', identifier: 'MIT' },
    contact: { name: 'Groups Gateway operators', email: 'gateway-operators@example.com' },
  },
  servers: [{ url: '/', description: 'This gateway, on the origin that serves this document.' }],
  security: [{ [PARTNER_KEY_SCHEME]: [] }],
  tags: [
    { name: 'Groups', description: 'The organization\u2019s groups.' },
    { name: 'Operations', description: 'Endpoints for running the gateway.' },
  ],
}
