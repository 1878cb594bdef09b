import { router } from "../../../http/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

export default router().openapi(routes.get, handlers.get).openapi(routes.put, handlers.put);
