// Admin handlers.

import { pendingFanoutCount } from "../../../contacts";
import { createOrgWithKey } from "../../../db/api-keys";
import { iso } from "../../../db/client";
import { quotasOf, setQuotas as saveQuotas } from "../../../db/quotas";
import { acrossShards, everyShard, placementOf, shardFor } from "../../../db/shards";
import { notFound } from "../../../ground/errors";
import { metricsSnapshot } from "../../../ground/metrics";
import type { Handler } from "../../../http/openapi";
import { unmatchedMail as unmatched } from "../../../messaging";
import { moveOrg as move } from "../../move";
import { keyCreatedJson } from "../api-keys/schemas";
import type * as routes from "./routes";
import { orgJson } from "./schemas";

export const createOrg: Handler<typeof routes.createOrg> = async (c) => {
  const { name, region } = c.req.valid("json");
  const { org, apiKey, key, placement } = await createOrgWithKey(c.env, name, region ?? null);
  return c.json({ org: orgJson(org, placement), apiKey: keyCreatedJson(apiKey, key) }, 201);
};

export const metrics: Handler<typeof routes.metrics> = async (c) =>
  c.json(
    {
      ...metricsSnapshot(),
      backlog: {
        eventFanouts: (await Promise.all(everyShard(c.env).map(pendingFanoutCount))).reduce(
          (a, b) => a + b,
          0,
        ),
      },
    },
    200,
  );

export const unmatchedMail: Handler<typeof routes.unmatchedMail> = async (c) => {
  // Received mail that matched no org is kept on the shard that received it: newest first, 50.
  const rows = (await acrossShards(c.env, (db) => unmatched(db)))
    .sort((a, b) => b.receivedAt - a.receivedAt)
    .slice(0, 50);
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
  const { id } = c.req.valid("param");
  if (!(await placementOf(c.env, id))) {
    throw notFound("Org");
  }
  const db = await shardFor(c.env, id);
  if (!(await quotasOf(db, id))) {
    throw notFound("Org");
  }
  await saveQuotas(db, id, c.req.valid("json"));
  return c.json((await quotasOf(db, id)) as NonNullable<Awaited<ReturnType<typeof quotasOf>>>, 200);
};

export const moveOrg: Handler<typeof routes.moveOrg> = async (c) => {
  const { id } = c.req.valid("param");
  return c.json(await move(c.env, id, c.req.valid("json").shard), 200);
};
