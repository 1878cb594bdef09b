// Account handler.
import { getOrg } from "../../db/api-keys";
import { database } from "../../db/client";
import { notFound } from "../../http/errors";
import type { Handler } from "../../http/openapi";
import type * as routes from "./routes";
import { orgJson } from "./schemas";

export const get: Handler<typeof routes.get> = async (c) => {
  const org = await getOrg(database(c.env.DB), c.get("orgId"));
  if (!org) {
    throw notFound("Org");
  }
  return c.json(orgJson(org), 200);
};
