// API key handlers.
import {
  createApiKey,
  getApiKey,
  listApiKeys,
  revokeApiKey,
  usageForOrg,
} from "../../../db/api-keys";
import { iso } from "../../../db/client";
import { readShardFor, shardFor } from "../../../db/shards";
import { DomainError, notFound } from "../../../ground/errors";
import { forgetKey } from "../../../http/auth";
import type { Handler } from "../../../http/openapi";
import { pageOf, toPage } from "../../../http/pagination";
import { scopeWithin } from "../../../http/scopes";
import { flushUsage, hourOf } from "../../../http/usage";
import type * as routes from "./routes";
import { keyCreatedJson, keyJson } from "./schemas";

export const create: Handler<typeof routes.create> = async (c) => {
  const { name, scope, expiresInDays } = c.req.valid("json");
  const parent = c.get("apiKey");
  if (!scopeWithin(scope, parent.scope)) {
    throw new DomainError("forbidden", `A "${parent.scope}" key cannot mint a "${scope}" key`);
  }
  const expiresAt = expiresInDays ? Date.now() + expiresInDays * 86_400_000 : parent.expiresAt;
  if (parent.expiresAt != null && (expiresAt == null || expiresAt > parent.expiresAt)) {
    throw new DomainError(
      "forbidden",
      `A key cannot outlive the key that mints it (this one expires at ${iso(parent.expiresAt)})`,
    );
  }
  const { row, key } = await createApiKey(
    c.env,
    await shardFor(c.env, c.get("orgId")),
    c.get("orgId"),
    name,
    scope,
    expiresAt,
  );
  return c.json(keyCreatedJson(row, key), 201);
};

export const list: Handler<typeof routes.list> = async (c) => {
  const page = toPage(c.req.valid("query"));
  const { data, nextCursor } = pageOf(
    await listApiKeys(
      await readShardFor(c.env, c.get("orgId")),
      c.get("orgId"),
      page.limit,
      page.before,
    ),
    page,
  );
  return c.json({ data: data.map(keyJson), nextCursor }, 200);
};

export const usage: Handler<typeof routes.usage> = async (c) => {
  const db = await readShardFor(c.env, c.get("orgId"));
  await flushUsage(c.env, c.get("log"));
  const rows = await usageForOrg(db, c.get("orgId"), hourOf(Date.now()) - 23);
  return c.json({ data: rows.map((r) => ({ ...r, lastUsedAt: iso(r.lastUsedAt) })) }, 200);
};

export const get: Handler<typeof routes.get> = async (c) => {
  const row = await getApiKey(
    await shardFor(c.env, c.get("orgId")),
    c.get("orgId"),
    c.req.valid("param").id,
  );
  if (!row) {
    throw notFound("API key");
  }
  return c.json(keyJson(row), 200);
};

export const revoke: Handler<typeof routes.revoke> = async (c) => {
  const row = await revokeApiKey(
    await shardFor(c.env, c.get("orgId")),
    c.get("orgId"),
    c.req.valid("param").id,
  );
  if (!row) {
    throw notFound("API key");
  }
  // This isolate refuses it at once; every other one within KEY_CACHE_SECONDS (http/auth.ts).
  forgetKey(row.keyHash);
  return c.json(keyJson(row), 200);
};
