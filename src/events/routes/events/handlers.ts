// Event handlers: accept durably, then fan out through the event queue (or inline with ?wait=true).
import type { Context } from "hono";
import { shardFor } from "../../../db/shards";
import type { AppEnv } from "../../../ground/env";
import { type ErrorCode, zodDetails } from "../../../ground/errors";
import { errorText } from "../../../ground/log";
import { sendInSlices } from "../../../ground/retry";
import { knownError } from "../../../http/errors";
import type { Handler } from "../../../http/openapi";
import { acceptTrackedEvents, fanOutAccepted, type TrackedEvent } from "../../events";
import type * as routes from "./routes";
import { TrackEvent } from "./schemas";

type Body = ReturnType<typeof TrackEvent.parse>;

const tracked = (body: Body): TrackedEvent => ({
  name: body.name,
  contact: body.contactId
    ? { id: body.contactId }
    : body.email
      ? { email: body.email }
      : { externalId: body.externalId as string },
  data: body.data ?? {},
  occurredAt: body.occurredAt ? Date.parse(body.occurredAt) : undefined,
  clientId: body.id,
});

/**
 * Hands accepted events to the event queue, 100 ids per job. The events are stored with their
 * pending fan-out already: if the queue refuses, the watchdog queues them within seconds.
 */
async function queueFanouts(c: Context<AppEnv>, ids: string[]) {
  const jobs = [];
  for (let i = 0; i < ids.length; i += 100) {
    jobs.push({
      kind: "fanout" as const,
      orgId: c.get("orgId"),
      eventIds: ids.slice(i, i + 100),
      trace: c.get("requestId"),
    });
  }
  try {
    await sendInSlices(c.env.EVENT_QUEUE, jobs);
  } catch (err) {
    c.get("log").warn("event fan-out not queued; the watchdog will", {
      count: ids.length,
      error: errorText(err),
    });
  }
}

export const track: Handler<typeof routes.track> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const body = c.req.valid("json");
  const [result] = await acceptTrackedEvents(c.env, db, c.get("orgId"), [tracked(body)]);
  if (result instanceof Error) {
    throw result;
  }
  const duplicate = result.duplicate ? { duplicate: true } : {};
  if (c.req.valid("query").wait === "true") {
    const processed = result.duplicate
      ? undefined
      : (await fanOutAccepted(c.env, db, [result.id], c.get("log"))).get(result.id);
    return c.json(
      { id: result.id, ...duplicate, ...(processed ?? { enrolled: [], resumed: [], exited: [] }) },
      202,
    );
  }
  if (!result.duplicate) {
    await queueFanouts(c, [result.id]);
  }
  return c.json({ id: result.id, ...duplicate }, 202);
};

export const trackBatch: Handler<typeof routes.trackBatch> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const { events } = c.req.valid("json");
  const rejected: {
    index: number;
    error: ErrorCode;
    message: string;
    details?: { path: string; message: string }[];
  }[] = [];
  const valid: { index: number; event: TrackedEvent }[] = [];
  events.forEach((raw, index) => {
    const parsed = TrackEvent.safeParse(raw);
    if (parsed.success) {
      valid.push({ index, event: tracked(parsed.data) });
    } else {
      rejected.push({
        index,
        error: "validation_failed",
        message: "The event is invalid",
        details: zodDetails(parsed.error),
      });
    }
  });
  const results = await acceptTrackedEvents(
    c.env,
    db,
    c.get("orgId"),
    valid.map((v) => v.event),
  );
  const ids: (string | null)[] = events.map(() => null);
  const fresh: string[] = [];
  results.forEach((r, j) => {
    const { index } = valid[j];
    if (r instanceof Error) {
      const known = knownError(r);
      if (!known) {
        throw r; // a fault, not this event's: the whole call fails (retry with the same ids)
      }
      rejected.push({ index, error: known.code, message: known.message });
      return;
    }
    ids[index] = r.id;
    if (!r.duplicate) {
      fresh.push(r.id);
    }
  });
  await queueFanouts(c, [...new Set(fresh)]);
  rejected.sort((a, b) => a.index - b.index);
  return c.json({ ids, rejected }, 202);
};
