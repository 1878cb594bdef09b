import { router } from "../../../http/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

export default router()
  .openapi(routes.stepTypes, handlers.stepTypes)
  .openapi(routes.create, handlers.create)
  .openapi(routes.list, handlers.list)
  .openapi(routes.get, handlers.get)
  .openapi(routes.patch, handlers.patch)
  .openapi(routes.remove, handlers.remove)
  .openapi(routes.addStep, handlers.addStep)
  .openapi(routes.patchStep, handlers.patchStep)
  .openapi(routes.deleteStep, handlers.deleteStep)
  .openapi(routes.addTransition, handlers.addTransition)
  .openapi(routes.deleteTransition, handlers.deleteTransition)
  .openapi(routes.versions, handlers.versions)
  .openapi(routes.test, handlers.test);
