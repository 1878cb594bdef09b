// API key handlers.
import {
  createApiKey,
  getApiKey,
  listApiKeys,
  revokeApiKey,
  usageForOrg,
} from "../../../db/api-keys";
import { database, iso } from "../../../db/client";
import { DomainError, notFound } from "../../../ground/errors";
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
    database(c.env.DB),
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
    await listApiKeys(database(c.env.DB), c.get("orgId"), page.limit, page.before),
    page,
  );
  return c.json({ data: data.map(keyJson), nextCursor }, 200);
};

export const usage: Handler<typeof routes.usage> = async (c) => {
  const db = database(c.env.DB);
  await flushUsage(db, c.get("log"));
  const rows = await usageForOrg(db, c.get("orgId"), hourOf(Date.now()) - 23);
  return c.json({ data: rows.map((r) => ({ ...r, lastUsedAt: iso(r.lastUsedAt) })) }, 200);
};

export const get: Handler<typeof routes.get> = async (c) => {
  const row = await getApiKey(database(c.env.DB), c.get("orgId"), c.req.valid("param").id);
  if (!row) {
    throw notFound("API key");
  }
  return c.json(keyJson(row), 200);
};

export const revoke: Handler<typeof routes.revoke> = async (c) => {
  const row = await revokeApiKey(database(c.env.DB), c.get("orgId"), c.req.valid("param").id);
  if (!row) {
    throw notFound("API key");
  }
  return c.json(keyJson(row), 200);
};
