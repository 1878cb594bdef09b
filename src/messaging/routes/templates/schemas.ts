// Template shapes.
import { z } from "@hono/zod-openapi";
import { iso } from "../../../db/client";
import { EmailSourceFields } from "../../../engine/email";
import { Timestamp } from "../../../http/openapi";
import type { TemplateRow } from "../../templates-store";

const fields = {
  name: z.string().trim().min(1).max(200),
  ...EmailSourceFields,
  text: EmailSourceFields.text.unwrap().nullable().optional(),
  from: z.string().max(320).nullable().optional(),
  replyTo: z.string().max(320).nullable().optional(),
};

export const TemplateInput = z.strictObject(fields).openapi("TemplateInput");
export const TemplatePatch = z.strictObject(fields).partial().openapi("TemplatePatch");

export const Template = z
  .object({
    id: z.string(),
    name: z.string(),
    subject: z.string(),
    html: z.string(),
    text: z.string().nullable(),
    from: z.string().nullable(),
    replyTo: z.string().nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Template");

export const Preview = z
  .strictObject({
    contact: z.record(z.string(), z.unknown()).optional(),
    vars: z.record(z.string(), z.unknown()).optional(),
    event: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi("TemplatePreviewInput");

export const Rendered = z.object({ subject: z.string(), html: z.string(), text: z.string() });

export const templateJson = (t: TemplateRow) => ({
  id: t.id,
  name: t.name,
  subject: t.subject,
  html: t.html,
  text: t.text,
  from: t.from,
  replyTo: t.replyTo,
  createdAt: iso(t.createdAt) as string,
  updatedAt: iso(t.updatedAt) as string,
});
