// The edge: the public, unauthenticated face of the Worker.
import { router } from "../http/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

export default router()
  .openapi(routes.open, handlers.open)
  .openapi(routes.click, handlers.click)
  .openapi(routes.unsubscribePage, handlers.unsubscribePage)
  .openapi(routes.unsubscribe, handlers.unsubscribe)
  .openapi(routes.preferencesPage, handlers.preferencesPage)
  .openapi(routes.savePreferences, handlers.savePreferences)
  .openapi(routes.confirmPage, handlers.confirmPage)
  .openapi(routes.confirm, handlers.confirm)
  .openapi(routes.inbound, handlers.inbound)
  .openapi(routes.inboundMail, handlers.inboundMail)
  .openapi(routes.reportFile, handlers.reportFile);
