import { router } from "../http/openapi";
import { type DocumentOf, handlers } from "./handlers";
import * as routes from "./routes";

export type { DocumentOf };

export default function docs(documentOf: DocumentOf) {
  const h = handlers(documentOf);
  return router()
    .openapi(routes.health, h.health)
    .openapi(routes.healthV1, h.healthV1)
    .openapi(routes.openApi, h.openApi)
    .openapi(routes.openApiV1, h.openApi)
    .openapi(routes.reference, h.reference)
    .openapi(routes.referenceMd, h.referenceMd)
    .openapi(routes.skills, h.skills)
    .openapi(routes.skillsV1, h.skills)
    .openapi(routes.llms, h.llms);
}
