// Cursor pagination over time-sortable ids: newest first, `?limit=1..100&cursor=`.
import { z } from "@hono/zod-openapi";
import { DomainError } from "../ground/errors";
import { ID_SHAPE } from "../ground/ids";
import { base64url, fromBase64url } from "../security/encoding";

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

const invalidCursor = () =>
  new DomainError("validation_failed", "The cursor is invalid", {
    details: [{ path: "cursor", message: "Invalid cursor" }],
  });

/** What a cursor this API issued encodes, when it has the expected shape; a 422 otherwise (never a 500). */
export function cursorValue(cursor: string, shape: RegExp): string {
  let value: string;
  try {
    value = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      fromBase64url(cursor),
    );
  } catch {
    throw invalidCursor();
  }
  if (!shape.test(value)) {
    throw invalidCursor();
  }
  return value;
}

export const encodeCursor = (value: string) => base64url(new TextEncoder().encode(value));

export function toPage(q: { limit: number; cursor?: string }): Page {
  return q.cursor
    ? { limit: q.limit, before: cursorValue(q.cursor, ID_SHAPE) }
    : { limit: q.limit };
}

/** Rows fetched with limit+1 → `{data, nextCursor}`. */
export function pageOf<T extends { id: string }>(rows: T[], page: Page) {
  const more = rows.length > page.limit;
  const data = more ? rows.slice(0, page.limit) : rows;
  const last = data[data.length - 1];
  return { data, nextCursor: more && last ? encodeCursor(last.id) : null };
}

export function listOf<T extends z.ZodTypeAny>(item: T) {
  return z.object({ data: z.array(item), nextCursor: z.string().nullable() });
}
