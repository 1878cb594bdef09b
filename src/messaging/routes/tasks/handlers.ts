// Task handlers.
import type { Db } from "../../../db/client";
import { readShardFor, shardFor } from "../../../db/shards";
import type { Env } from "../../../ground/env";
import { DomainError, notFound } from "../../../ground/errors";
import type { Handler } from "../../../http/openapi";
import { pageOf, toPage } from "../../../http/pagination";
import { closeTask } from "../../outreach";
import { getTask, listTasks, type TaskRow } from "../../tasks-store";
import type * as routes from "./routes";
import { taskJson } from "./schemas";

async function owned(db: Db, orgId: string, id: string) {
  const t = await getTask(db, orgId, id);
  if (!t) {
    throw notFound("Task");
  }
  return t;
}

export const list: Handler<typeof routes.list> = async (c) => {
  const q = c.req.valid("query");
  const page = toPage(q);
  const now = Date.now();
  const rows = await listTasks(
    await readShardFor(c.env, c.get("orgId")),
    c.get("orgId"),
    { ...q, dueBefore: q.dueBefore ? Date.parse(q.dueBefore) : undefined },
    now,
    page.limit,
    page.before,
  );
  const { data, nextCursor } = pageOf(rows, page);
  return c.json({ data: data.map((t) => taskJson(t, now)), nextCursor }, 200);
};

export const get: Handler<typeof routes.get> = async (c) =>
  c.json(
    taskJson(
      await owned(await shardFor(c.env, c.get("orgId")), c.get("orgId"), c.req.valid("param").id),
    ),
    200,
  );

/** Closes the task, or explains why not: the same close again is a harmless retry. */
async function close(
  env: Env,
  db: Db,
  task: TaskRow,
  status: "completed" | "skipped",
  outcome: string,
  note: string | null,
) {
  const closed = await closeTask(env, db, task, status, outcome, note);
  if (closed) {
    return closed;
  }
  const now = await getTask(db, task.orgId, task.id);
  if (now && now.status === status && now.outcome === outcome) {
    return now;
  }
  const state = now ? taskJson(now).status : "gone";
  throw new DomainError("task_closed", `The task is ${state}; it can no longer be ${status}`);
}

export const complete: Handler<typeof routes.complete> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const task = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const body = c.req.valid("json");
  const declared = task.outcomes.filter((o) => o !== "skipped" && o !== "timeout");
  const outcome = body.outcome ?? (declared.length === 1 ? declared[0] : undefined);
  if (!outcome || !declared.includes(outcome)) {
    throw new DomainError(
      "invalid_outcome",
      outcome
        ? `"${outcome}" is not an outcome of this task; it declares ${declared.map((o) => `"${o}"`).join(", ")}`
        : `Name the outcome: one of ${declared.map((o) => `"${o}"`).join(", ")}`,
      { details: [{ path: "outcome", message: `One of ${declared.join(", ")}` }] },
    );
  }
  const closed = await close(c.env, db, task, "completed", outcome, body.note ?? null);
  return c.json(taskJson(closed), 200);
};

export const skip: Handler<typeof routes.skip> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const task = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const body = c.req.valid("json");
  const closed = await close(c.env, db, task, "skipped", "skipped", body.note ?? null);
  return c.json(taskJson(closed), 200);
};
