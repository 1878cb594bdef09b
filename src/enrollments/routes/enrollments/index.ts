import { router } from "../../../http/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

export default router()
  .openapi(routes.create, handlers.create)
  .openapi(routes.bulk, handlers.bulk)
  .openapi(routes.list, handlers.list)
  .openapi(routes.get, handlers.get)
  .openapi(routes.logs, handlers.logs)
  .openapi(routes.cancel, handlers.cancel)
  .openapi(routes.remove, handlers.remove)
  .openapi(routes.ofWorkflow, handlers.ofWorkflow)
  .openapi(routes.cancelAll, handlers.cancelAll)
  .openapi(routes.stats, handlers.stats)
  .openapi(routes.ofContact, handlers.ofContact);
