// Email provider connections: credentials encrypted at rest and never returned.
import { createRoute, z } from "@hono/zod-openapi";
import { database, iso } from "../../db/client";
import {
  type ConnectionRow,
  deleteConnection,
  getConnection,
  getConnectionByKey,
  insertConnection,
  listConnections,
  updateConnection,
} from "../../db/connections";
import { encrypt } from "../../delivery/crypto";
import { PROVIDER_NAMES, PROVIDERS } from "../../delivery/providers";
import { ApiError, errorResponses, notFound } from "../../http/errors";
import { newId } from "../../http/ids";
import { json, jsonBody, pathId, router, secured, Timestamp } from "../../http/openapi";
import { listOf, PageQuery, pageOf, toPage } from "../../http/pagination";

const tags = ["Connections"];
const params = pathId("id", "cxn_01JD0000000000000000000000");
const Credentials = z.record(z.string(), z.string().max(10_000)).openapi({ description: "Provider credentials (write-only)", example: { apiKey: "re_..." } });
const Key = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[\w-]+$/);
const ConnectionInput = z
  .object({
    provider: z.enum(PROVIDER_NAMES),
    key: Key.default("default"),
    credentials: Credentials.default({}),
    from: z.string().max(320).nullable().optional(),
  })
  .openapi("ConnectionInput");
const ConnectionPatch = z
  .object({ key: Key.optional(), credentials: Credentials.optional(), from: z.string().max(320).nullable().optional() })
  .openapi("ConnectionPatch");
const Connection = z
  .object({ id: z.string(), provider: z.string(), key: z.string(), from: z.string().nullable(), createdAt: Timestamp, updatedAt: Timestamp })
  .openapi("Connection");

const connectionJson = (c: ConnectionRow) => ({
  id: c.id,
  provider: c.provider,
  key: c.key,
  from: c.from,
  createdAt: iso(c.createdAt) as string,
  updatedAt: iso(c.updatedAt) as string,
});

function assertCredentials(provider: string, credentials: Record<string, string>) {
  const missing = PROVIDERS[provider].requiredCredentials.filter((f) => !credentials[f]);
  if (missing.length > 0) {
    throw new ApiError("validation_failed", `A ${provider} connection needs ${missing.join(", ")}`, {
      details: missing.map((f) => ({ path: `credentials.${f}`, message: "Required" })),
    });
  }
}

const routes = {
  create: createRoute({
    method: "post",
    path: "/v1/connections",
    tags,
    security: secured,
    request: { body: jsonBody(ConnectionInput) },
    responses: { 201: json(Connection, "Created (credentials are never returned)"), ...errorResponses(409) },
  }),
  list: createRoute({
    method: "get",
    path: "/v1/connections",
    tags,
    security: secured,
    request: { query: PageQuery },
    responses: { 200: json(listOf(Connection), "Connections"), ...errorResponses() },
  }),
  get: createRoute({
    method: "get",
    path: "/v1/connections/{id}",
    tags,
    security: secured,
    request: { params },
    responses: { 200: json(Connection, "The connection"), ...errorResponses(404) },
  }),
  patch: createRoute({
    method: "patch",
    path: "/v1/connections/{id}",
    tags,
    security: secured,
    request: { params, body: jsonBody(ConnectionPatch) },
    responses: { 200: json(Connection, "Updated"), ...errorResponses(404, 409) },
  }),
  remove: createRoute({
    method: "delete",
    path: "/v1/connections/{id}",
    tags,
    security: secured,
    request: { params },
    responses: { 204: { description: "Deleted" }, ...errorResponses(404) },
  }),
};

export default router()
  .openapi(routes.create, async (c) => {
    const db = database(c.env.DB);
    const input = c.req.valid("json");
    assertCredentials(input.provider, input.credentials);
    if (await getConnectionByKey(db, c.get("orgId"), input.key)) throw new ApiError("conflict", `A connection with key "${input.key}" exists`);
    const now = Date.now();
    const row: ConnectionRow = {
      id: newId("cxn", now),
      orgId: c.get("orgId"),
      provider: input.provider,
      key: input.key,
      credentials: await encrypt(c.env, JSON.stringify(input.credentials)),
      from: input.from ?? null,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await insertConnection(db, row);
    } catch (err) {
      if (String(err).includes("UNIQUE")) throw new ApiError("conflict", `A connection with key "${input.key}" exists`);
      throw err;
    }
    return c.json(connectionJson(row), 201);
  })
  .openapi(routes.list, async (c) => {
    const page = toPage(c.req.valid("query"));
    const { data, nextCursor } = pageOf(await listConnections(database(c.env.DB), c.get("orgId"), page.limit, page.before), page);
    return c.json({ data: data.map((r) => connectionJson(r)), nextCursor }, 200);
  })
  .openapi(routes.get, async (c) => {
    const row = await getConnection(database(c.env.DB), c.get("orgId"), c.req.valid("param").id);
    if (!row) throw notFound("Connection");
    return c.json(connectionJson(row), 200);
  })
  .openapi(routes.patch, async (c) => {
    const db = database(c.env.DB);
    const row = await getConnection(db, c.get("orgId"), c.req.valid("param").id);
    if (!row) throw notFound("Connection");
    const input = c.req.valid("json");
    if (input.credentials) assertCredentials(row.provider, input.credentials);
    const next: ConnectionRow = {
      ...row,
      key: input.key ?? row.key,
      from: input.from !== undefined ? input.from : row.from,
      credentials: input.credentials ? await encrypt(c.env, JSON.stringify(input.credentials)) : row.credentials,
      updatedAt: Date.now(),
    };
    try {
      await updateConnection(db, next);
    } catch (err) {
      if (String(err).includes("UNIQUE")) throw new ApiError("conflict", `A connection with key "${next.key}" exists`);
      throw err;
    }
    return c.json(connectionJson(next), 200);
  })
  .openapi(routes.remove, async (c) => {
    if (!(await deleteConnection(database(c.env.DB), c.get("orgId"), c.req.valid("param").id))) throw notFound("Connection");
    return c.body(null, 204);
  });
