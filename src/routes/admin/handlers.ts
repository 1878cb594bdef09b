// Admin handlers.
import { createOrgWithKey } from "../../db/api-keys";
import { database } from "../../db/client";
import { metricsSnapshot } from "../../ground/metrics";
import type { Handler } from "../../http/openapi";
import { keyCreatedJson } from "../api-keys/schemas";
import type * as routes from "./routes";
import { orgJson } from "./schemas";

export const createOrg: Handler<typeof routes.createOrg> = async (c) => {
  const { name } = c.req.valid("json");
  const { org, apiKey, key } = await createOrgWithKey(database(c.env.DB), name);
  return c.json({ org: orgJson(org), apiKey: keyCreatedJson(apiKey, key) }, 201);
};

export const metrics: Handler<typeof routes.metrics> = (c) => c.json(metricsSnapshot(), 200);
