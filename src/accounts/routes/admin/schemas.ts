// Admin shapes: an org, and the isolate's counters.
import { z } from "@hono/zod-openapi";
import { iso } from "../../../db/client";
import { Timestamp } from "../../../http/openapi";

export const Region = z.enum(["eu", "fedramp"]).openapi({
  description:
    "Data residency: the org's rows are kept on a shard declared for this jurisdiction and its Durable Objects are created there (Cloudflare's `jurisdiction`). Omitted: any shard without one.",
});

export const Org = z
  .object({
    id: z.string(),
    name: z.string(),
    region: Region.nullable(),
    /** Which of the deployment's databases holds it (docs/scale.md). */
    shard: z
      .number()
      .int()
      .openapi({ description: "The org shard (D1 database) its rows live on" }),
    createdAt: Timestamp,
  })
  .openapi("Org");

export const OrgInput = z.strictObject({
  name: z.string().trim().min(1).max(200),
  region: Region.optional(),
});

const Quota = z.object({
  used: z.number().int().openapi({ description: "How many exist now" }),
  limit: z
    .number()
    .int()
    .openapi({ description: "How many may; a creation past it is 403 `quota_exceeded`" }),
});

export const OrgQuotas = z
  .object({
    contacts: Quota.openapi({ description: "Contacts not erased (default limit 1,000,000)" }),
    workflows: Quota.openapi({ description: "Workflows not archived (default limit 1,000)" }),
    webhooks: Quota.openapi({ description: "Webhook subscriptions (default limit 100)" }),
    templates: Quota.openapi({ description: "Templates (default limit 5,000)" }),
  })
  .openapi("OrgQuotas");

const Limit = z.number().int().min(0).max(1_000_000_000).optional();

export const QuotasInput = z
  .strictObject({ contacts: Limit, workflows: Limit, webhooks: Limit, templates: Limit })
  .openapi("QuotasInput", {
    description:
      "New limits; those left out stay. A limit below the current count only stops new creations.",
  });

const D1Counts = z.object({ queries: z.number().int(), rowsWritten: z.number().int() });

export const Metrics = z.object({
  startedAt: Timestamp,
  d1: z.object({
    request: D1Counts,
    object: D1Counts,
    queue: D1Counts,
    cron: D1Counts,
    other: D1Counts,
  }),
  engine: z.object({ steps: z.number().int(), alarms: z.number().int() }),
  backlog: z.object({
    eventFanouts: z
      .number()
      .int()
      .openapi({ description: "Accepted events not fanned out yet (all isolates: read from D1)" }),
  }),
});

export const orgJson = (
  o: { id: string; name: string; createdAt: number },
  placement: { shard: number; region: "eu" | "fedramp" | null },
) => ({
  id: o.id,
  name: o.name,
  region: placement.region,
  shard: placement.shard,
  createdAt: iso(o.createdAt) as string,
});

export const MoveInput = z
  .strictObject({
    shard: z
      .number()
      .int()
      .min(0)
      .openapi({ description: "The shard (D1 database index) to move the org to" }),
  })
  .openapi("MoveInput");

export const MoveResult = z
  .object({
    orgId: z.string(),
    from: z.number().int().openapi({ description: "The shard the org was on" }),
    to: z.number().int().openapi({ description: "The shard it is on now" }),
    tables: z
      .array(
        z.object({
          name: z.string().openapi({ description: "A table of the org shard schema" }),
          rows: z.number().int().openapi({ description: "The org's rows moved" }),
        }),
      )
      .openapi({ description: "Every table that holds org data, in the order copied" }),
  })
  .openapi("OrgMove");
