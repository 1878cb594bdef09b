import { Scalar } from "@scalar/hono-api-reference";
import type { Context } from "hono";
import type { AppEnv } from "../ground/env";
import type { Handler } from "../http/openapi";
import { llmsTxt, type OpenApiDocument, referenceMarkdown } from "./reference-md";
import type * as routes from "./routes";
import { SKILLS_MD } from "./skills.md";

/** The whole app's OpenAPI document as seen from an origin (given by app.ts, which owns it). */
export type DocumentOf = (origin: string) => object;

const MARKDOWN = { "content-type": "text/markdown; charset=utf-8" };
const origin = (c: Context<AppEnv>) => new URL(c.req.url).origin;

/** True when the client asks for Markdown and does not take HTML (an agent, not a browser). */
const wantsMarkdown = (accept: string | undefined) =>
  /\btext\/markdown\b/i.test(accept ?? "") && !/\btext\/html\b/i.test(accept ?? "");

// The reference page loads its script from this Worker, never from a CDN: it works offline.
const page = Scalar({
  url: "/openapi-v1.json",
  pageTitle: "Nudge API reference",
  cdn: "/docs/scalar.js",
});

export const handlers = (documentOf: DocumentOf) => {
  const ok = { status: "ok" as const };
  const health: Handler<typeof routes.health> = (c) => c.json(ok, 200);
  const healthV1: Handler<typeof routes.healthV1> = (c) => c.json(ok, 200);
  const openApi: Handler<typeof routes.openApi> = (c) => c.json(documentOf(origin(c)), 200);
  const reference: Handler<typeof routes.reference> = async (c, next) => {
    if (wantsMarkdown(c.req.header("accept"))) {
      return c.body(referenceMarkdown(documentOf(origin(c)) as OpenApiDocument), 200, MARKDOWN);
    }
    return (await page(c as never, next)) as Response;
  };
  const referenceMd: Handler<typeof routes.referenceMd> = (c) =>
    c.body(referenceMarkdown(documentOf(origin(c)) as OpenApiDocument), 200, MARKDOWN);
  const skills: Handler<typeof routes.skills> = (c) => c.body(SKILLS_MD, 200, MARKDOWN);
  const llms: Handler<typeof routes.llms> = (c) =>
    c.text(llmsTxt(origin(c), documentOf(origin(c)) as OpenApiDocument), 200);
  return { health, healthV1, openApi, reference, referenceMd, skills, llms };
};
