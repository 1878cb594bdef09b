// Template handlers.
import type { Db } from "../../../db/client";
import { readShardFor, shardFor } from "../../../db/shards";
import { renderTemplate, validateTemplate } from "../../../engine/templates";
import { config } from "../../../ground/config";
import { DomainError, notFound, validationFailed } from "../../../ground/errors";
import { newId } from "../../../ground/ids";
import type { Handler } from "../../../http/openapi";
import { pageOf, toPage } from "../../../http/pagination";
import { htmlToText } from "../../../lib/text";
import {
  deleteTemplate,
  getTemplate,
  insertTemplate,
  listTemplates,
  type TemplateRow,
  updateTemplate,
} from "../../templates-store";
import type * as routes from "./routes";
import { templateJson } from "./schemas";

async function owned(db: Db, orgId: string, id: string) {
  const row = await getTemplate(db, orgId, id);
  if (!row) {
    throw notFound("Template");
  }
  return row;
}

function assertParses(t: { subject?: string; html?: string; text?: string | null }) {
  const problems = validateTemplate(t);
  if (problems.length > 0) {
    throw validationFailed(problems, problems[0].message);
  }
}

export const create: Handler<typeof routes.create> = async (c) => {
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
  await insertTemplate(await shardFor(c.env, c.get("orgId")), row);
  return c.json(templateJson(row), 201);
};

export const list: Handler<typeof routes.list> = async (c) => {
  const page = toPage(c.req.valid("query"));
  const { data, nextCursor } = pageOf(
    await listTemplates(
      await readShardFor(c.env, c.get("orgId")),
      c.get("orgId"),
      page.limit,
      page.before,
    ),
    page,
  );
  return c.json({ data: data.map(templateJson), nextCursor }, 200);
};

export const get: Handler<typeof routes.get> = async (c) =>
  c.json(
    templateJson(
      await owned(await shardFor(c.env, c.get("orgId")), c.get("orgId"), c.req.valid("param").id),
    ),
    200,
  );

export const patch: Handler<typeof routes.patch> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const row = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const input = c.req.valid("json");
  assertParses(input);
  const next: TemplateRow = {
    ...row,
    ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)),
    updatedAt: Date.now(),
  };
  await updateTemplate(db, next);
  return c.json(templateJson(next), 200);
};

export const remove: Handler<typeof routes.remove> = async (c) => {
  if (
    !(await deleteTemplate(
      await shardFor(c.env, c.get("orgId")),
      c.get("orgId"),
      c.req.valid("param").id,
    ))
  ) {
    throw notFound("Template");
  }
  return c.body(null, 204);
};

export const preview: Handler<typeof routes.preview> = async (c) => {
  const row = await owned(
    await shardFor(c.env, c.get("orgId")),
    c.get("orgId"),
    c.req.valid("param").id,
  );
  const input = c.req.valid("json");
  try {
    const out = renderTemplate(row, {
      contact: { data: {}, ...(input.contact ?? {}) },
      vars: input.vars ?? {},
      event: input.event ?? {},
      workflow: { id: "wf_preview", name: "Preview" },
      enrollment: { id: "enr_preview" },
      unsubscribeUrl: `${config(c.env).publicUrl ?? new URL(c.req.url).origin}/t/u/preview`,
    });
    return c.json(
      { subject: out.subject, html: out.html, text: out.text ?? htmlToText(out.html) },
      200,
    );
  } catch (err) {
    throw new DomainError("validation_failed", (err as Error).message, {
      details: [{ path: "template", message: (err as Error).message }],
    });
  }
};
