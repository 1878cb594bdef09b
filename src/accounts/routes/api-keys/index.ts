import { router } from "../../../http/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

export default router()
  .openapi(routes.create, handlers.create)
  .openapi(routes.list, handlers.list)
  .openapi(routes.usage, handlers.usage)
  .openapi(routes.get, handlers.get)
  .openapi(routes.revoke, handlers.revoke);
