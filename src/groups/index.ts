import { methodNotAllowed } from '../errors'
import { createRouter } from '../router'
import * as handlers from './handlers'
import * as routes from './routes'

export const groupsRouter = createRouter()
  .openapi(routes.listGroups, handlers.listGroups)
  .all(routes.listGroups.path, methodNotAllowed(['GET', 'HEAD']))
