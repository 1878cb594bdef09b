// Templates: Liquid, parsed at save (a syntax error names its line), previewed with the shared renderer.
import { createRoute, z } from "@hono/zod-openapi";
import { database, iso } from "../../db/client";
import { deleteTemplate, getTemplate, insertTemplate, listTemplates, type TemplateRow, updateTemplate } from "../../db/templates";
import { EmailSourceFields, renderTemplate, validateTemplate } from "../../engine/templates";
import { htmlToText } from "../../engine/text";
import { ApiError, errorResponses, notFound, validationFailed } from "../../http/errors";
import { newId } from "../../http/ids";
import { json, jsonBody, pathId, router, secured, Timestamp } from "../../http/openapi";
import { listOf, PageQuery, pageOf, toPage } from "../../http/pagination";

const tags = ["Templates"];
const params = pathId("id", "tpl_01JD0000000000000000000000");

const fields = {
  name: z.string().trim().min(1).max(200),
  ...EmailSourceFields,
  text: EmailSourceFields.text.unwrap().nullable().optional(),
  from: z.string().max(320).nullable().optional(),
  replyTo: z.string().max(320).nullable().optional(),
};
const TemplateInput = z.object(fields).openapi("TemplateInput");
const TemplatePatch = z.object(fields).partial().openapi("TemplatePatch");
const Template = z
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
const Preview = z
  .object({
    contact: z.record(z.string(), z.unknown()).optional(),
    vars: z.record(z.string(), z.unknown()).optional(),
    event: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi("TemplatePreviewInput");

const templateJson = (t: TemplateRow) => ({
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

function assertParses(t: { subject?: string; html?: string; text?: string | null }) {
  const problems = validateTemplate(t);
  if (problems.length > 0) throw validationFailed(problems, problems[0].message);
}

const routes = {
  create: createRoute({
    method: "post",
    path: "/v1/templates",
    tags,
    security: secured,
    request: { body: jsonBody(TemplateInput) },
    responses: { 201: json(Template, "Created"), ...errorResponses() },
  }),
  list: createRoute({
    method: "get",
    path: "/v1/templates",
    tags,
    security: secured,
    request: { query: PageQuery },
    responses: { 200: json(listOf(Template), "Templates, newest first"), ...errorResponses() },
  }),
  get: createRoute({
    method: "get",
    path: "/v1/templates/{id}",
    tags,
    security: secured,
    request: { params },
    responses: { 200: json(Template, "The template"), ...errorResponses(404) },
  }),
  patch: createRoute({
    method: "patch",
    path: "/v1/templates/{id}",
    tags,
    security: secured,
    request: { params, body: jsonBody(TemplatePatch) },
    responses: { 200: json(Template, "Updated"), ...errorResponses(404) },
  }),
  remove: createRoute({
    method: "delete",
    path: "/v1/templates/{id}",
    tags,
    security: secured,
    request: { params },
    responses: { 204: { description: "Deleted" }, ...errorResponses(404) },
  }),
  preview: createRoute({
    method: "post",
    path: "/v1/templates/{id}/preview",
    tags,
    security: secured,
    request: { params, body: jsonBody(Preview) },
    responses: { 200: json(z.object({ subject: z.string(), html: z.string(), text: z.string() }), "Rendered"), ...errorResponses(404) },
  }),
};

async function owned(c: { env: { DB: D1Database }; get: (k: "orgId") => string }, id: string) {
  const row = await getTemplate(database(c.env.DB), c.get("orgId"), id);
  if (!row) throw notFound("Template");
  return row;
}

export default router()
  .openapi(routes.create, async (c) => {
    const input = c.req.valid("json");
    assertParses(input);
    const now = Date.now();
    const row: TemplateRow = {
      id: newId("tpl", now),
      orgId: c.get("orgId"),
      name: input.name,
      subject: input.subject,
      html: input.html,
      text: input.text ?? null,
      from: input.from ?? null,
      replyTo: input.replyTo ?? null,
      createdAt: now,
      updatedAt: now,
    };
    await insertTemplate(database(c.env.DB), row);
    return c.json(templateJson(row), 201);
  })
  .openapi(routes.list, async (c) => {
    const page = toPage(c.req.valid("query"));
    const { data, nextCursor } = pageOf(await listTemplates(database(c.env.DB), c.get("orgId"), page.limit, page.before), page);
    return c.json({ data: data.map(templateJson), nextCursor }, 200);
  })
  .openapi(routes.get, async (c) => c.json(templateJson(await owned(c, c.req.valid("param").id)), 200))
  .openapi(routes.patch, async (c) => {
    const row = await owned(c, c.req.valid("param").id);
    const input = c.req.valid("json");
    assertParses(input);
    const next: TemplateRow = { ...row, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)), updatedAt: Date.now() };
    await updateTemplate(database(c.env.DB), next);
    return c.json(templateJson(next), 200);
  })
  .openapi(routes.remove, async (c) => {
    if (!(await deleteTemplate(database(c.env.DB), c.get("orgId"), c.req.valid("param").id))) throw notFound("Template");
    return c.body(null, 204);
  })
  .openapi(routes.preview, async (c) => {
    const row = await owned(c, c.req.valid("param").id);
    const input = c.req.valid("json");
    const contact = { data: {}, ...(input.contact ?? {}) };
    try {
      const out = renderTemplate(row, {
        contact,
        vars: input.vars ?? {},
        event: input.event ?? {},
        workflow: { id: "wf_preview", name: "Preview" },
        enrollment: { id: "enr_preview" },
        unsubscribeUrl: `${c.env.PUBLIC_URL}/t/u/preview`,
      });
      return c.json({ subject: out.subject, html: out.html, text: out.text ?? htmlToText(out.html) }, 200);
    } catch (err) {
      throw new ApiError("validation_failed", (err as Error).message, { details: [{ path: "template", message: (err as Error).message }] });
    }
  });
