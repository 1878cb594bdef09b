// Health and the documents at stable URLs: the OpenAPI document, the reference, the skills
// brief and llms.txt. No key needed; the versioned URLs stay; the unversioned ones are the latest.
import { createRoute, z } from "@hono/zod-openapi";
import { json } from "../http/openapi";

const tags = ["Documents"];
const Health = z.object({ status: z.literal("ok") }).openapi("Health");
const markdown = (description: string) => ({
  content: { "text/markdown": { schema: z.string() } },
  description,
});
const document = {
  content: { "application/json": { schema: z.object({}).passthrough() } },
  description: "This OpenAPI 3.1 document (servers: the origin it was asked from)",
};

export const health = createRoute({
  method: "get",
  path: "/health",
  operationId: "getHealth",
  tags,
  summary: "Liveness: answers without touching storage",
  responses: { 200: json(Health, "Alive") },
});

export const healthV1 = createRoute({
  method: "get",
  path: "/v1/health",
  operationId: "getHealthV1",
  tags,
  summary: "Liveness under /v1 (no key needed)",
  responses: { 200: json(Health, "Alive") },
});

export const openApi = createRoute({
  method: "get",
  path: "/openapi.json",
  operationId: "getOpenApiDocument",
  tags,
  summary: "The OpenAPI document (the latest version: today /openapi-v1.json)",
  responses: { 200: document },
});

export const openApiV1 = createRoute({
  method: "get",
  path: "/openapi-v1.json",
  operationId: "getOpenApiDocumentV1",
  tags,
  summary: "The OpenAPI document of API v1 (a stable URL)",
  responses: { 200: document },
});

export const reference = createRoute({
  method: "get",
  path: "/docs",
  operationId: "showReference",
  tags,
  summary: "The interactive API reference (Markdown with `Accept: text/markdown`)",
  description:
    "An HTML page whose script is served by this Worker (`/docs/scalar.js`), so it works offline. A request that accepts `text/markdown` but not `text/html` gets the Markdown reference instead.",
  responses: {
    200: {
      content: { "text/html": { schema: z.string() }, "text/markdown": { schema: z.string() } },
      description: "The reference page, or the reference as Markdown",
    },
  },
});

export const referenceMd = createRoute({
  method: "get",
  path: "/docs/reference.md",
  operationId: "getReferenceMarkdown",
  tags,
  summary: "The API reference as Markdown, one section per operation",
  responses: { 200: markdown("The reference, rendered from the OpenAPI document") },
});

export const skills = createRoute({
  method: "get",
  path: "/docs/skills.md",
  operationId: "getSkillsBrief",
  tags,
  summary: "The skills brief for agents and integrators (the latest: today v1)",
  responses: { 200: markdown("The brief") },
});

export const skillsV1 = createRoute({
  method: "get",
  path: "/docs/skills-v1.md",
  operationId: "getSkillsBriefV1",
  tags,
  summary: "The skills brief of API v1 (a stable URL)",
  responses: { 200: markdown("The brief") },
});

export const llms = createRoute({
  method: "get",
  path: "/llms.txt",
  operationId: "getLlmsTxt",
  tags,
  summary:
    "An index for LLMs (llms.txt convention) pointing at the brief, the document and the reference",
  responses: {
    200: { content: { "text/plain": { schema: z.string() } }, description: "The index (Markdown)" },
  },
});
