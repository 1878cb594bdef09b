import { type ApiKeyRow, createApiKey, getApiKey, listApiKeys, revokeApiKey, usageForOrg } from "../../db/api-keys";
import { database, iso } from "../../db/client";
import { notFound } from "../../http/errors";
import { router } from "../../http/openapi";
import { pageOf, toPage } from "../../http/pagination";
import { flushUsage, hourOf } from "../../http/usage";
import * as routes from "./routes";

export const keyJson = (k: ApiKeyRow) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  lastFour: k.lastFour,
  expiresAt: iso(k.expiresAt),
  revokedAt: iso(k.revokedAt),
  createdAt: iso(k.createdAt) as string,
});
export const keyCreatedJson = (k: ApiKeyRow, key: string) => ({ ...keyJson(k), key });

export default router()
  .openapi(routes.create, async (c) => {
    const { name, expiresInDays } = c.req.valid("json");
    const expiresAt = expiresInDays ? Date.now() + expiresInDays * 86_400_000 : null;
    const { row, key } = await createApiKey(database(c.env.DB), c.get("orgId"), name, expiresAt);
    return c.json(keyCreatedJson(row, key), 201);
  })
  .openapi(routes.list, async (c) => {
    const page = toPage(c.req.valid("query"));
    const rows = await listApiKeys(database(c.env.DB), c.get("orgId"), page.limit, page.before);
    const { data, nextCursor } = pageOf(rows, page);
    return c.json({ data: data.map(keyJson), nextCursor }, 200);
  })
  .openapi(routes.usage, async (c) => {
    const db = database(c.env.DB);
    await flushUsage(db);
    const rows = await usageForOrg(db, c.get("orgId"), hourOf(Date.now()) - 23);
    return c.json({ data: rows.map((r) => ({ ...r, lastUsedAt: iso(r.lastUsedAt) })) }, 200);
  })
  .openapi(routes.get, async (c) => {
    const row = await getApiKey(database(c.env.DB), c.get("orgId"), c.req.valid("param").id);
    if (!row) throw notFound("API key");
    return c.json(keyJson(row), 200);
  })
  .openapi(routes.revoke, async (c) => {
    const row = await revokeApiKey(database(c.env.DB), c.get("orgId"), c.req.valid("param").id);
    if (!row) throw notFound("API key");
    return c.json(keyJson(row), 200);
  });
