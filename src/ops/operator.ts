import { AppError } from '../errors'
import { methodNotAllowed } from '../http/errors'
import type { App } from '../http/openapi'
import { bearerKey } from '../partners/directory'
import type { FailedAuthLimiter } from '../partners/failures'
import type { PagesState } from '../prewarm/page-deps'

const PURGE_PATH = '/admin/cache/purge'

declare global {
  interface Env {
    /** Optional secret: without it the operator routes do not exist (so `wrangler types` omits it). */
    OPERATOR_KEY?: string
  }
}

/**
 * `POST /admin/cache/purge` with `Authorization: Bearer <OPERATOR_KEY>` starts a new cache
 * generation; without that secret, a 404. Not in the OpenAPI document: partners never call it.
 */
export function operatorRoutes(app: App, state: PagesState & { failures: FailedAuthLimiter }) {
  app
    .post(PURGE_PATH, async (c) => {
      const expected = c.env.OPERATOR_KEY
      if (!expected) return c.notFound()
      if (!(await sameSecret(bearerKey(c.req.header('authorization')), expected))) {
        // Wrong operator keys share the address's failed-authentication budget with partner keys.
        throw await state.failures.refuse(c, new AppError('invalid_operator_key'))
      }
      const value = await state.generation.purge(c.env.GROUPS_CACHE, state.now())
      return c.json({ purged: true, generation: value }, 200, { 'Cache-Control': 'no-store' })
    })
    .all(PURGE_PATH, (c) => (c.env.OPERATOR_KEY ? methodNotAllowed(['POST'])(c) : c.notFound()))
}

/** Compares digests in constant time, so the comparison leaks nothing about the secret. */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const encode = (s: string) => crypto.subtle.digest('SHA-256', new TextEncoder().encode(s))
  const [a, b] = await Promise.all([encode(given), encode(expected)])
  return crypto.subtle.timingSafeEqual(a, b)
}
