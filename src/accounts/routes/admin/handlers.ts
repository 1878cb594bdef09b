// Admin handlers.

import { pendingFanoutCount } from "../../../contacts";
import { createOrgWithKey } from "../../../db/api-keys";
import { database, iso } from "../../../db/client";
import { quotasOf, setQuotas as saveQuotas } from "../../../db/quotas";
import { notFound } from "../../../ground/errors";
import { metricsSnapshot } from "../../../ground/metrics";
import type { Handler } from "../../../http/openapi";
import { unmatchedMail as unmatched } from "../../../messaging";
import { keyCreatedJson } from "../api-keys/schemas";
import type * as routes from "./routes";
import { orgJson } from "./schemas";

export const createOrg: Handler<typeof routes.createOrg> = async (c) => {
  const { name } = c.req.valid("json");
  const { org, apiKey, key } = await createOrgWithKey(database(c.env.DB), name);
  return c.json({ org: orgJson(org), apiKey: keyCreatedJson(apiKey, key) }, 201);
};

export const metrics: Handler<typeof routes.metrics> = async (c) =>
  c.json(
    {
      ...metricsSnapshot(),
      backlog: { eventFanouts: await pendingFanoutCount(database(c.env.DB)) },
    },
    200,
  );

export const unmatchedMail: Handler<typeof routes.unmatchedMail> = async (c) => {
  const rows = await unmatched(database(c.env.DB));
  return c.json(
    {
      data: rows.map((r) => ({
        id: r.id,
        via: r.via,
        from: r.from,
        to: r.to,
        subject: r.subject,
        reason: r.reason,
        receivedAt: iso(r.receivedAt) as string,
      })),
    },
    200,
  );
};

export const setQuotas: Handler<typeof routes.setQuotas> = async (c) => {
  const db = database(c.env.DB);
  const { id } = c.req.valid("param");
  if (!(await quotasOf(db, id))) {
    throw notFound("Org");
  }
  await saveQuotas(db, id, c.req.valid("json"));
  return c.json((await quotasOf(db, id)) as NonNullable<Awaited<ReturnType<typeof quotasOf>>>, 200);
};
