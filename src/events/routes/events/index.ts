import { router } from "../../../http/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

// The batch route first: /v1/events/batch is not an event.
export default router()
  .openapi(routes.trackBatch, handlers.trackBatch)
  .openapi(routes.track, handlers.track);
