// Topic handlers: a change reaches running enrollments within a minute (the policy cache).
import { isUniqueViolation } from "../../../db/client";
import { readShardFor, shardFor } from "../../../db/shards";
import { DomainError, notFound } from "../../../ground/errors";
import { newId } from "../../../ground/ids";
import type { Handler } from "../../../http/openapi";
import { pageOf, toPage } from "../../../http/pagination";
import { forgetSendingPolicy } from "../../sending";
import {
  deleteTopic,
  getTopic,
  insertTopic,
  listTopics,
  type TopicRow,
  updateTopic,
} from "../../topics-store";
import type * as routes from "./routes";
import { topicJson } from "./schemas";

export const create: Handler<typeof routes.create> = async (c) => {
  const input = c.req.valid("json");
  const now = Date.now();
  const row: TopicRow = {
    id: newId("top", now),
    orgId: c.get("orgId"),
    key: input.key,
    name: input.name,
    description: input.description ?? null,
    defaultSubscribed: input.defaultSubscribed,
    createdAt: now,
    updatedAt: now,
  };
  try {
    await insertTopic(await shardFor(c.env, c.get("orgId")), row);
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new DomainError("conflict", `A topic with key "${input.key}" exists`);
    }
    throw err;
  }
  forgetSendingPolicy(row.orgId);
  return c.json(topicJson(row), 201);
};

export const list: Handler<typeof routes.list> = async (c) => {
  const page = toPage(c.req.valid("query"));
  const { data, nextCursor } = pageOf(
    await listTopics(
      await readShardFor(c.env, c.get("orgId")),
      c.get("orgId"),
      page.limit,
      page.before,
    ),
    page,
  );
  return c.json({ data: data.map(topicJson), nextCursor }, 200);
};

export const get: Handler<typeof routes.get> = async (c) => {
  const t = await getTopic(
    await shardFor(c.env, c.get("orgId")),
    c.get("orgId"),
    c.req.valid("param").id,
  );
  if (!t) {
    throw notFound("Topic");
  }
  return c.json(topicJson(t), 200);
};

export const patch: Handler<typeof routes.patch> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const t = await getTopic(db, c.get("orgId"), c.req.valid("param").id);
  if (!t) {
    throw notFound("Topic");
  }
  const input = c.req.valid("json");
  const next: TopicRow = {
    ...t,
    name: input.name ?? t.name,
    description: input.description !== undefined ? input.description : t.description,
    defaultSubscribed: input.defaultSubscribed ?? t.defaultSubscribed,
    updatedAt: Date.now(),
  };
  await updateTopic(db, next);
  forgetSendingPolicy(t.orgId);
  return c.json(topicJson(next), 200);
};

export const remove: Handler<typeof routes.remove> = async (c) => {
  if (
    !(await deleteTopic(
      await shardFor(c.env, c.get("orgId")),
      c.get("orgId"),
      c.req.valid("param").id,
    ))
  ) {
    throw notFound("Topic");
  }
  forgetSendingPolicy(c.get("orgId"));
  return c.body(null, 204);
};
