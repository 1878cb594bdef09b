import { router } from "../../../http/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

export default router()
  .openapi(routes.upsert, handlers.upsert)
  .openapi(routes.list, handlers.list)
  .openapi(routes.get, handlers.get)
  .openapi(routes.patch, handlers.patch)
  .openapi(routes.erase, handlers.erase)
  .openapi(routes.events, handlers.events);
