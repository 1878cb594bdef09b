// Import shapes.
import { z } from "@hono/zod-openapi";
import { iso } from "../../../db/client";
import { Timestamp } from "../../../http/openapi";
import type { ImportRow } from "../../imports-store";

/** At most this many contacts per import. */
export const MAX_ROWS = 10_000;

export const ImportJson = z
  .strictObject({
    workflowId: z.string().min(1).max(100).optional(),
    contacts: z.array(z.unknown()),
  })
  .openapi("ImportInput");

export const Import = z
  .object({
    id: z.string(),
    workflowId: z.string().nullable(),
    status: z.enum(["queued", "processing", "completed", "failed"]),
    total: z.number().int(),
    processed: z.number().int(),
    created: z
      .number()
      .int()
      .openapi({ description: "New enrollments (with workflowId) or new contacts (without)" }),
    skipped: z.number().int().openapi({
      description:
        "Already enrolled / re-entry refused (with workflowId) or existing contacts updated (without)",
    }),
    failed: z.number().int(),
    errors: z
      .array(
        z.object({
          row: z.number().int().openapi({ description: "0-based index among the rows sent" }),
          line: z
            .number()
            .int()
            .optional()
            .openapi({ description: "CSV imports: the row's line in the file (1 is the header)" }),
          message: z.string(),
        }),
      )
      .openapi({ description: "Every rejected row (at most 1,000), with why" }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Import");

export const importJson = (i: ImportRow) => ({
  id: i.id,
  workflowId: i.workflowId,
  status: i.status,
  total: i.total,
  processed: i.processed,
  created: i.created,
  skipped: i.skipped,
  failed: i.failed,
  errors: i.errors,
  createdAt: iso(i.createdAt) as string,
  updatedAt: iso(i.updatedAt) as string,
});
