import { createOrgWithKey, getOrg } from "../../db/api-keys";
import { database, iso } from "../../db/client";
import { notFound } from "../../http/errors";
import { router } from "../../http/openapi";
import { metricsSnapshot } from "../../metrics";
import { keyCreatedJson } from "../api-keys";
import * as routes from "./routes";

export const orgJson = (o: { id: string; name: string; createdAt: number }) => ({ id: o.id, name: o.name, createdAt: iso(o.createdAt) as string });

export default router()
  .openapi(routes.createOrg, async (c) => {
    const { name } = c.req.valid("json");
    const { org, apiKey, key } = await createOrgWithKey(database(c.env.DB), name);
    return c.json({ org: orgJson(org), apiKey: keyCreatedJson(apiKey, key) }, 201);
  })
  .openapi(routes.metrics, (c) => c.json(metricsSnapshot(), 200))
  .openapi(routes.account, async (c) => {
    const org = await getOrg(database(c.env.DB), c.get("orgId"));
    if (!org) throw notFound("Org");
    return c.json(orgJson(org), 200);
  });
