// Account handler.
import { getOrg } from "../../db/api-keys";
import { database } from "../../db/client";
import { quotasOf } from "../../db/quotas";
import { notFound } from "../../http/errors";
import type { Handler } from "../../http/openapi";
import type * as routes from "./routes";
import { orgJson } from "./schemas";

export const get: Handler<typeof routes.get> = async (c) => {
  const db = database(c.env.DB);
  const [org, quotas] = await Promise.all([
    getOrg(db, c.get("orgId")),
    quotasOf(db, c.get("orgId")),
  ]);
  if (!org || !quotas) {
    throw notFound("Org");
  }
  return c.json({ ...orgJson(org), quotas }, 200);
};
