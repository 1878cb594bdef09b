// API key shapes: the key as listed (never its secret) and as created (the secret, once).
import { z } from "@hono/zod-openapi";
import type { ApiKeyRow } from "../../db/api-keys";
import { iso } from "../../db/client";
import { Timestamp } from "../../http/openapi";

export const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string(),
    lastFour: z.string(),
    expiresAt: Timestamp.nullable(),
    revokedAt: Timestamp.nullable(),
    createdAt: Timestamp,
  })
  .openapi("ApiKey");

export const ApiKeyCreated = ApiKey.extend({
  key: z.string().openapi({ description: "Shown only once" }),
}).openapi("ApiKeyCreated");

export const ApiKeyInput = z.object({
  name: z.string().trim().min(1).max(200),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
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
  expiresAt: iso(k.expiresAt),
  revokedAt: iso(k.revokedAt),
  createdAt: iso(k.createdAt) as string,
});

export const keyCreatedJson = (k: ApiKeyRow, key: string) => ({ ...keyJson(k), key });
