import { router } from "../../../http/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

export default router()
  .openapi(routes.fleet, handlers.fleet)
  .openapi(routes.reasoning, handlers.reasoning)
  .openapi(routes.create, handlers.create)
  .openapi(routes.spawn, handlers.create)
  .openapi(routes.list, handlers.list)
  .openapi(routes.get, handlers.get)
  .openapi(routes.patch, handlers.patch)
  .openapi(routes.remove, handlers.remove)
  .openapi(routes.execute, handlers.execute)
  .openapi(routes.inference, handlers.inference)
  .openapi(routes.scoreLead, handlers.scoreLead)
  .openapi(routes.executions, handlers.executions)
  .openapi(routes.execution, handlers.execution)
  .openapi(routes.status, handlers.status)
  .openapi(routes.logs, handlers.logs)
  .openapi(routes.costs, handlers.costs)
  .openapi(routes.metrics, handlers.metrics);
