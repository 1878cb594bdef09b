// Account handlers: the org, its quotas, its reporting time zone.

import { forgetZone, setReportingZone } from "../../../analytics";
import { getOrg, setBranding } from "../../../db/api-keys";
import type { Db } from "../../../db/client";
import { quotasOf } from "../../../db/quotas";
import { placementOf, shardFor } from "../../../db/shards";
import type { Env } from "../../../ground/env";
import { notFound } from "../../../ground/errors";
import type { Handler } from "../../../http/openapi";
import type * as routes from "./routes";
import { orgJson } from "./schemas";

async function account(env: Env, db: Db, orgId: string) {
  const [org, quotas, placement] = await Promise.all([
    getOrg(db, orgId),
    quotasOf(db, orgId),
    placementOf(env, orgId),
  ]);
  if (!org || !quotas || !placement) {
    throw notFound("Org");
  }
  return {
    ...orgJson(org, placement),
    reportingTimezone: org.reportingTimezone,
    branding: org.branding ?? {},
    quotas,
  };
}

export const get: Handler<typeof routes.get> = async (c) =>
  c.json(await account(c.env, await shardFor(c.env, c.get("orgId")), c.get("orgId")), 200);

export const patch: Handler<typeof routes.patch> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const body = c.req.valid("json");
  if (body.reportingTimezone !== undefined) {
    await setReportingZone(db, c.get("orgId"), body.reportingTimezone);
    forgetZone(c.get("orgId"));
  }
  if (body.branding !== undefined) {
    await setBranding(db, c.get("orgId"), body.branding);
  }
  return c.json(await account(c.env, db, c.get("orgId")), 200);
};
