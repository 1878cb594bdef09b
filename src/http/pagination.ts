// Cursor pagination over time-sortable ids: newest first, `?limit=1..100&cursor=`.
import { z } from "@hono/zod-openapi";
import { ID_SHAPE } from "../ground/ids";
import { base64url, fromBase64url } from "../security/encoding";
import { ApiError } from "./errors";

export const PageQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(50)
    .openapi({ param: { name: "limit", in: "query" }, example: 50 }),
  cursor: z
    .string()
    .max(200)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" } }),
});

export interface Page {
  limit: number;
  /** Exclusive upper bound on id (rows strictly older than it). */
  before?: string;
}

export function toPage(q: { limit: number; cursor?: string }): Page {
  if (!q.cursor) {
    return { limit: q.limit };
  }
  try {
    const before = new TextDecoder().decode(fromBase64url(q.cursor));
    if (!ID_SHAPE.test(before)) {
      throw new Error("shape");
    }
    return { limit: q.limit, before };
  } catch {
    throw new ApiError("validation_failed", "The cursor is invalid", {
      details: [{ path: "cursor", message: "Invalid cursor" }],
    });
  }
}

/** Rows fetched with limit+1 → `{data, nextCursor}`. */
export function pageOf<T extends { id: string }>(rows: T[], page: Page) {
  const more = rows.length > page.limit;
  const data = more ? rows.slice(0, page.limit) : rows;
  const last = data[data.length - 1];
  return { data, nextCursor: more && last ? base64url(new TextEncoder().encode(last.id)) : null };
}

export function listOf<T extends z.ZodTypeAny>(item: T) {
  return z.object({ data: z.array(item), nextCursor: z.string().nullable() });
}
