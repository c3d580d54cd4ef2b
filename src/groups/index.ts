import { methodNotAllowed } from '../http/errors'
import { createRouter } from '../http/router'
import type { PagesState } from '../prewarm/page-deps'
import { listGroups } from './handler'
import * as routes from './routes'

/** The groups route family: the List groups route, and 405 for its other methods. */
export function groupsRouter(state: PagesState) {
  return createRouter()
    .openapi(routes.listGroups, listGroups(state))
    .all(routes.listGroups.path, methodNotAllowed(['GET', 'HEAD']))
}
