// API key shapes: the key as listed (never its secret) and as created (the secret, once).
import { z } from "@hono/zod-openapi";
import type { ApiKeyRow } from "../../../db/api-keys";
import { iso } from "../../../db/client";
import { KEY_SCOPES } from "../../../ground/scopes";
import { Timestamp } from "../../../http/openapi";

const Scope = z.enum(KEY_SCOPES).openapi({
  description:
    "`full`: everything. `send`: reads (except keys, connections and webhooks) and writes to contacts, events, enrollments and imports, plus template preview and workflow test. Anything else answers 403 `forbidden`.",
});

export const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string(),
    lastFour: z.string(),
    scope: Scope,
    expiresAt: Timestamp.nullable(),
    revokedAt: Timestamp.nullable(),
    createdAt: Timestamp,
  })
  .openapi("ApiKey");

export const ApiKeyCreated = ApiKey.extend({
  key: z.string().openapi({ description: "Shown only once" }),
}).openapi("ApiKeyCreated");

export const ApiKeyInput = z.strictObject({
  name: z.string().trim().min(1).max(200),
  scope: Scope.default("full").openapi({
    description: "Default `full`. Never wider than the key that mints it (403 `forbidden`).",
  }),
  expiresInDays: z.number().int().min(1).max(3650).optional().openapi({
    description:
      "Omitted: no expiry — or, when the minting key expires, that same expiry. A key cannot outlive the key that mints it (403 `forbidden`).",
  }),
});

export const Usage = z.object({
  data: z.array(
    z.object({ id: z.string(), requests24h: z.number(), lastUsedAt: Timestamp.nullable() }),
  ),
});

export const keyJson = (k: ApiKeyRow) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  lastFour: k.lastFour,
  scope: k.scope,
  expiresAt: iso(k.expiresAt),
  revokedAt: iso(k.revokedAt),
  createdAt: iso(k.createdAt) as string,
});

export const keyCreatedJson = (k: ApiKeyRow, key: string) => ({ ...keyJson(k), key });
