// POST /mcp: the Model Context Protocol over Streamable HTTP, stateless (a fresh server per
// request, JSON answers). Same API key as /v1 (Bearer or x-api-key); every tool is an API
// operation called in-process with that key, so scopes, org isolation, idempotency and errors
// are the API's own.
import { StreamableHTTPTransport } from "@hono/mcp";
import { z } from "@hono/zod-openapi";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { Context } from "hono";
import type { OpenApiDocument } from "../docs/reference-md";
import { SKILLS_MD } from "../docs/skills.md";
import type { AppEnv } from "../ground/env";
import { router } from "../http/openapi";
import { type AppFetch, callApi, findOperations, operationCall } from "./operations";
import { type ApiCall, TOOLS } from "./tools";

type ToolResult = {
  content: { type: "text"; text: string }[];
  isError?: boolean;
};

const text = (value: unknown): ToolResult => ({
  content: [{ type: "text", text: JSON.stringify(value, null, 2) }],
});

function buildServer(c: Context<AppEnv>, fetchApp: AppFetch, documentOf: () => OpenApiDocument) {
  const server = new McpServer(
    { name: "nudge", title: "Nudge", version: "1.0.0" },
    {
      instructions:
        "Drip and outreach automation. Read the resource nudge://docs/skills-v1.md first.",
    },
  );
  const run = async (calls: ApiCall[]): Promise<ToolResult> => {
    const answers = [];
    for (const call of calls) {
      const r = await callApi(c, fetchApp, call);
      if (r.status >= 400) {
        // The API's own error: its code and message, for the agent's playbook.
        return { ...text({ status: r.status, ...(r.body as object) }), isError: true };
      }
      answers.push(r.body);
    }
    return text(answers.length === 1 ? answers[0] : answers);
  };
  for (const t of TOOLS) {
    server.registerTool(
      t.name,
      {
        title: t.title,
        description: t.description,
        inputSchema: t.input,
        annotations: { title: t.title, ...t.hints },
      },
      async (args: Record<string, unknown>) => {
        const calls = t.call(args as never);
        return run(Array.isArray(calls) ? calls : [calls]);
      },
    );
  }
  server.registerTool(
    "search_api",
    {
      title: "Search the API",
      description:
        "Finds operations of the REST API by words (e.g. 'cancel enrollment', 'webhook secret'): their operationId, method, path and summary, for call_api.",
      inputSchema: {
        query: z.string().min(1).max(200),
        limit: z.number().int().min(1).max(50).optional(),
      },
      annotations: { readOnlyHint: true },
    },
    async ({ query, limit }) => text(findOperations(documentOf(), query, limit ?? 10)),
  );
  server.registerTool(
    "call_api",
    {
      title: "Call any API operation",
      description:
        "Calls any documented operation by its operationId (see search_api or the OpenAPI resource) with path parameters, query and JSON body. Errors come back with the API's error code.",
      inputSchema: {
        operationId: z.string().min(1),
        pathParams: z.record(z.string(), z.string()).optional(),
        query: z.record(z.string(), z.string()).optional(),
        body: z.unknown().optional(),
      },
      annotations: { destructiveHint: true },
    },
    async (a) => {
      const call = operationCall(documentOf(), a);
      return call instanceof Error
        ? { ...text({ error: "not_found", message: call.message }), isError: true }
        : run([call]);
    },
  );
  server.registerResource(
    "skills",
    "nudge://docs/skills-v1.md",
    {
      title: "Skills brief (v1)",
      description: "How to use Nudge: conventions, what to use when, errors",
      mimeType: "text/markdown",
    },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: "text/markdown", text: SKILLS_MD }] }),
  );
  server.registerResource(
    "openapi",
    "nudge://openapi-v1.json",
    {
      title: "OpenAPI document (v1)",
      description: "Every operation, with its operationId",
      mimeType: "application/json",
    },
    async (uri) => ({
      contents: [
        { uri: uri.href, mimeType: "application/json", text: JSON.stringify(documentOf()) },
      ],
    }),
  );
  return server;
}

export default function mcp(fetchApp: AppFetch, documentOf: (origin: string) => object) {
  const app = router();
  app.all("/mcp", async (c) => {
    const server = buildServer(
      c,
      fetchApp,
      () => documentOf(new URL(c.req.url).origin) as OpenApiDocument,
    );
    const transport = new StreamableHTTPTransport({ enableJsonResponse: true });
    await server.connect(transport);
    return (await transport.handleRequest(c)) ?? c.body(null, 204);
  });
  return app;
}
