import { router } from "../../../http/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

export default router()
  .openapi(routes.metrics, handlers.metrics)
  .openapi(routes.charts, handlers.charts)
  .openapi(routes.funnel, handlers.funnel);
