import { router } from "../../../http/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

export default router()
  .openapi(routes.createOrg, handlers.createOrg)
  .openapi(routes.metrics, handlers.metrics)
  .openapi(routes.unmatchedMail, handlers.unmatchedMail)
  .openapi(routes.setQuotas, handlers.setQuotas)
  .openapi(routes.moveOrg, handlers.moveOrg);
