import { router } from "../../../http/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

// The catalog before /v1/webhooks/{id}.
export default router()
  .openapi(routes.catalog, handlers.catalog)
  .openapi(routes.create, handlers.create)
  .openapi(routes.list, handlers.list)
  .openapi(routes.get, handlers.get)
  .openapi(routes.patch, handlers.patch)
  .openapi(routes.remove, handlers.remove)
  .openapi(routes.rotate, handlers.rotate)
  .openapi(routes.test, handlers.test)
  .openapi(routes.deliveries, handlers.deliveries);
