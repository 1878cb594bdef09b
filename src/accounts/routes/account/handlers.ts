// Account handlers: the org, its quotas, its reporting time zone.

import { forgetZone, setReportingZone } from "../../../analytics";
import { getOrg, setBranding } from "../../../db/api-keys";
import { type Db, database } from "../../../db/client";
import { quotasOf } from "../../../db/quotas";
import { notFound } from "../../../ground/errors";
import type { Handler } from "../../../http/openapi";
import type * as routes from "./routes";
import { orgJson } from "./schemas";

async function account(db: Db, orgId: string) {
  const [org, quotas] = await Promise.all([getOrg(db, orgId), quotasOf(db, orgId)]);
  if (!org || !quotas) {
    throw notFound("Org");
  }
  return {
    ...orgJson(org),
    reportingTimezone: org.reportingTimezone,
    branding: org.branding ?? {},
    quotas,
  };
}

export const get: Handler<typeof routes.get> = async (c) =>
  c.json(await account(database(c.env.DB), c.get("orgId")), 200);

export const patch: Handler<typeof routes.patch> = async (c) => {
  const db = database(c.env.DB);
  const body = c.req.valid("json");
  if (body.reportingTimezone !== undefined) {
    await setReportingZone(db, c.get("orgId"), body.reportingTimezone);
    forgetZone(c.get("orgId"));
  }
  if (body.branding !== undefined) {
    await setBranding(db, c.get("orgId"), body.branding);
  }
  return c.json(await account(db, c.get("orgId")), 200);
};
