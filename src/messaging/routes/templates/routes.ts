// Templates: Liquid, parsed at save (a syntax error names its line), previewed with the shared renderer.
import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, jsonBody, pathId, secured } from "../../../http/openapi";
import { listOf, PageQuery } from "../../../http/pagination";
import { Preview, Rendered, Template, TemplateInput, TemplatePatch } from "./schemas";

const tags = ["Templates"];
const params = pathId("id", "tpl_01JD0000000000000000000000");

export const create = createRoute({
  method: "post",
  path: "/v1/templates",
  operationId: "createTemplate",
  summary: "Create an email template",
  tags,
  security: secured,
  request: {
    body: jsonBody(TemplateInput, {
      name: "Welcome",
      subject: "Welcome, {{ contact.firstName }}",
      html: "<p>Hello {{ contact.firstName }}</p>",
    }),
  },
  responses: { 201: json(Template, "Created"), ...errorResponses() },
});

export const list = createRoute({
  method: "get",
  path: "/v1/templates",
  operationId: "listTemplates",
  summary: "List templates",
  tags,
  security: secured,
  request: { query: PageQuery },
  responses: { 200: json(listOf(Template), "Templates, newest first"), ...errorResponses() },
});

export const get = createRoute({
  method: "get",
  path: "/v1/templates/{id}",
  operationId: "getTemplate",
  summary: "Get one template",
  tags,
  security: secured,
  request: { params },
  responses: { 200: json(Template, "The template"), ...errorResponses(404) },
});

export const patch = createRoute({
  method: "patch",
  path: "/v1/templates/{id}",
  operationId: "updateTemplate",
  summary: "Update a template",
  tags,
  security: secured,
  request: {
    params,
    body: jsonBody(TemplatePatch, { subject: "Welcome aboard, {{ contact.firstName }}" }),
  },
  responses: { 200: json(Template, "Updated"), ...errorResponses(404) },
});

export const remove = createRoute({
  method: "delete",
  path: "/v1/templates/{id}",
  operationId: "deleteTemplate",
  summary: "Delete a template",
  tags,
  security: secured,
  request: { params },
  responses: { 204: { description: "Deleted" }, ...errorResponses(404) },
});

export const preview = createRoute({
  method: "post",
  path: "/v1/templates/{id}/preview",
  operationId: "previewTemplate",
  summary: "Render a template with sample data",
  tags,
  security: secured,
  request: {
    params,
    body: jsonBody(Preview, { contact: { firstName: "Ada" }, vars: { plan: "pro" } }),
  },
  responses: { 200: json(Rendered, "Rendered"), ...errorResponses(404) },
});
