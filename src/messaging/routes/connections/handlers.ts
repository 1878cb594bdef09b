// Connection handlers.
import { isUniqueViolation } from "../../../db/client";
import { readShardFor, recordOwner, regionOf, shardFor } from "../../../db/shards";
import type { Env } from "../../../ground/env";
import { DomainError, notFound } from "../../../ground/errors";
import { newId } from "../../../ground/ids";
import type { Handler } from "../../../http/openapi";
import { pageOf, toPage } from "../../../http/pagination";
import { phoneProviderOf, providerOf } from "../../../providers";
import { llmProviderOf } from "../../../providers/llm";
import { encrypt } from "../../../security/credentials";
import {
  type ConnectionRow,
  deleteConnection,
  getConnection,
  getConnectionByKey,
  insertConnection,
  listConnections,
  resumeConnection,
  updateConnection,
} from "../../connections-store";
import { connectionHealth, mailboxStub } from "../../mailboxes";
import type * as routes from "./routes";
import { connectionJson } from "./schemas";

/** The provider's required fields are there, and nothing in them points where the outbound policy refuses. */
function assertCredentials(env: Env, provider: string, credentials: Record<string, string>) {
  const p = providerOf(provider) ?? phoneProviderOf(provider) ?? llmProviderOf(provider);
  const details = [
    ...(p?.requiredCredentials ?? [])
      .filter((f) => !credentials[f])
      .map((f) => ({ path: `credentials.${f}`, message: "Required" })),
    ...(p?.refuseCredentials?.(credentials, env) ?? []).map((x) => ({
      path: `credentials.${x.path}`,
      message: x.message,
    })),
  ];
  if (details.length > 0) {
    throw new DomainError(
      "validation_failed",
      `This ${provider} connection's credentials are not usable: ${details.map((d) => `${d.path}: ${d.message}`).join("; ")}`,
      {
        details,
      },
    );
  }
}

/** The sender this deployment lets the provider use (the `cloudflare` provider: listed domains only). */
function assertSender(env: Env, provider: string, from: string | null) {
  const refused = providerOf(provider)?.refuseSender?.(from, env);
  if (refused) {
    throw new DomainError("validation_failed", refused, {
      details: [{ path: "from", message: refused }],
    });
  }
}

const keyTaken = (key: string) =>
  new DomainError("conflict", `A connection with key "${key}" exists`);

export const create: Handler<typeof routes.create> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const body = c.req.valid("json");
  const input = {
    ...body,
    key:
      body.key ??
      (phoneProviderOf(body.provider) || llmProviderOf(body.provider) ? body.provider : "default"),
  };
  assertCredentials(c.env, input.provider, input.credentials);
  assertSender(c.env, input.provider, input.from ?? null);
  if (await getConnectionByKey(db, c.get("orgId"), input.key)) {
    throw keyTaken(input.key);
  }
  const now = Date.now();
  // The connection's mailbox object lives in the org's jurisdiction: its id carries the region.
  const id = newId("cxn", now, await regionOf(c.env, c.get("orgId")));
  const row: ConnectionRow = {
    id,
    orgId: c.get("orgId"),
    provider: input.provider,
    key: input.key,
    credentials: await encrypt(c.env, JSON.stringify(input.credentials), {
      orgId: c.get("orgId"),
      table: "connections",
      rowId: id,
    }),
    from: input.from ?? null,
    replyDomain: input.replyDomain ?? null,
    limits: input.limits ?? null,
    pausedAt: null,
    pausedReason: null,
    healthSince: null,
    createdAt: now,
    updatedAt: now,
  };
  // Inbound webhooks name the connection, not the org: the directory answers whose it is.
  await recordOwner(c.env, "connection", row.id, row.orgId);
  try {
    await insertConnection(db, row);
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw keyTaken(input.key);
    }
    throw err;
  }
  return c.json(connectionJson(row), 201);
};

export const list: Handler<typeof routes.list> = async (c) => {
  const page = toPage(c.req.valid("query"));
  const { data, nextCursor } = pageOf(
    await listConnections(
      await readShardFor(c.env, c.get("orgId")),
      c.get("orgId"),
      page.limit,
      page.before,
    ),
    page,
  );
  return c.json({ data: data.map((row) => connectionJson(row)), nextCursor }, 200);
};

/** An email connection with its mailbox's figures (today's count, next slot, health). */
async function withStats(env: Env, row: ConnectionRow) {
  if (!providerOf(row.provider)) {
    return connectionJson(row);
  }
  const [schedule, health] = await Promise.all([
    mailboxStub(env, row.id).stats(row.limits ?? null),
    connectionHealth(await readShardFor(env, row.orgId), row),
  ]);
  return connectionJson(row, { ...schedule, ...health });
}

export const get: Handler<typeof routes.get> = async (c) => {
  const row = await getConnection(
    await shardFor(c.env, c.get("orgId")),
    c.get("orgId"),
    c.req.valid("param").id,
  );
  if (!row) {
    throw notFound("Connection");
  }
  return c.json(await withStats(c.env, row), 200);
};

export const resume: Handler<typeof routes.resume> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const row = await getConnection(db, c.get("orgId"), c.req.valid("param").id);
  if (!row) {
    throw notFound("Connection");
  }
  const next = await resumeConnection(db, row.id, Date.now());
  return c.json(await withStats(c.env, next ?? row), 200);
};

export const patch: Handler<typeof routes.patch> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const row = await getConnection(db, c.get("orgId"), c.req.valid("param").id);
  if (!row) {
    throw notFound("Connection");
  }
  const input = c.req.valid("json");
  if (input.credentials) {
    assertCredentials(c.env, row.provider, input.credentials);
  }
  if (input.from !== undefined) {
    assertSender(c.env, row.provider, input.from);
  }
  const next: ConnectionRow = {
    ...row,
    key: input.key ?? row.key,
    from: input.from !== undefined ? input.from : row.from,
    replyDomain: input.replyDomain !== undefined ? input.replyDomain : row.replyDomain,
    limits: input.limits !== undefined ? input.limits : row.limits,
    credentials: input.credentials
      ? await encrypt(c.env, JSON.stringify(input.credentials), {
          orgId: row.orgId,
          table: "connections",
          rowId: row.id,
        })
      : row.credentials,
    updatedAt: Date.now(),
  };
  try {
    await updateConnection(db, next);
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw keyTaken(next.key);
    }
    throw err;
  }
  return c.json(connectionJson(next), 200);
};

export const remove: Handler<typeof routes.remove> = async (c) => {
  if (
    !(await deleteConnection(
      await shardFor(c.env, c.get("orgId")),
      c.get("orgId"),
      c.req.valid("param").id,
    ))
  ) {
    throw notFound("Connection");
  }
  return c.body(null, 204);
};
