import { methodNotAllowed } from '../errors'
import { createRouter } from '../http/router'
import { listGroups, type PageState } from './handler'
import * as routes from './routes'

export type { PageState } from './handler'

/** The groups route family: the List groups route, and 405 for its other methods. */
export function groupsRouter(state: PageState) {
  return createRouter()
    .openapi(routes.listGroups, listGroups(state))
    .all(routes.listGroups.path, methodNotAllowed(['GET', 'HEAD']))
}
