// Admin shapes: an org, and the isolate's counters.
import { z } from "@hono/zod-openapi";
import { iso } from "../../db/client";
import { Timestamp } from "../../http/openapi";

export const Org = z
  .object({ id: z.string(), name: z.string(), createdAt: Timestamp })
  .openapi("Org");

export const OrgInput = z.object({ name: z.string().trim().min(1).max(200) });

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
});

export const orgJson = (o: { id: string; name: string; createdAt: number }) => ({
  id: o.id,
  name: o.name,
  createdAt: iso(o.createdAt) as string,
});
