// Operations of the OpenAPI document for MCP: calling one in-process with the caller's key,
// finding them by words, and turning {operationId, pathParams, query, body} into a call.
import type { Context } from "hono";
import type { OpenApiDocument } from "../docs/reference-md";
import type { AppEnv } from "../ground/env";
import { apiKeyOf } from "../http/auth";
import type { ApiCall } from "./tools";

const METHODS = ["get", "post", "patch", "delete"] as const;

/** The whole app, to call operations in-process (given by app.ts, which owns it). */
export type AppFetch = (
  req: Request,
  env: AppEnv["Bindings"],
  ctx: ExecutionContext,
) => Response | Promise<Response>;

/** Calls the app in-process as the MCP caller: the same key, a fresh request id, JSON in and out. */
export async function callApi(
  c: Context<AppEnv>,
  fetchApp: AppFetch,
  call: ApiCall,
): Promise<{ status: number; body: unknown }> {
  const url = new URL(call.path, c.req.url);
  for (const [k, v] of Object.entries(call.query ?? {})) {
    if (v !== undefined) {
      url.searchParams.set(k, v);
    }
  }
  const headers = new Headers({ accept: "application/json" });
  // The key /mcp was authenticated with, however it came (Bearer or x-api-key): a call without
  // it would be refused, and its failures counted against the caller's address.
  const key = apiKeyOf((name) => c.req.header(name));
  if (key) {
    headers.set("authorization", `Bearer ${key}`);
  }
  const ip = c.req.header("cf-connecting-ip");
  if (ip) {
    headers.set("cf-connecting-ip", ip);
  }
  let body: string | undefined;
  if (call.body !== undefined || call.method === "POST" || call.method === "PATCH") {
    headers.set("content-type", "application/json");
    body = JSON.stringify(call.body ?? {});
  }
  const res = await fetchApp(
    new Request(url, { method: call.method, headers, body }),
    c.env,
    c.executionCtx as ExecutionContext,
  );
  const raw = await res.text();
  let parsed: unknown = raw;
  try {
    parsed = raw ? JSON.parse(raw) : null;
  } catch {
    // not JSON (an HTML page, a GIF): returned as text
  }
  return { status: res.status, body: parsed };
}

interface Found {
  operationId: string;
  method: string;
  path: string;
  summary?: string;
}

function operations(doc: OpenApiDocument): (Found & { words: string })[] {
  return Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    METHODS.flatMap((m) => {
      const op = item[m];
      if (!op?.operationId) {
        return [];
      }
      const words = [
        op.operationId.replace(/([a-z])([A-Z])/g, "$1 $2"),
        path,
        op.summary,
        op.description,
        ...(op.tags ?? []),
      ]
        .join(" ")
        .toLowerCase();
      return [
        { operationId: op.operationId, method: m.toUpperCase(), path, summary: op.summary, words },
      ];
    }),
  );
}

/** Operations ranked by how many of the query's words they contain (stems of 4+ letters match). */
export function findOperations(doc: OpenApiDocument, query: string, limit: number): Found[] {
  const terms = query
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((t) => t.length > 1)
    .map((t) => (t.length > 4 ? t.replace(/(s|es|ed|ing)$/, "") : t));
  return operations(doc)
    .map((op) => ({ op, score: terms.filter((t) => op.words.includes(t)).length }))
    .filter((r) => r.score > 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, limit)
    .map(({ op: { words: _w, ...op } }) => op);
}

/** The call for an operation by id, with its path parameters filled in; an Error when unknown. */
export function operationCall(
  doc: OpenApiDocument,
  a: {
    operationId: string;
    pathParams?: Record<string, string>;
    query?: Record<string, string>;
    body?: unknown;
  },
): ApiCall | Error {
  const op = operations(doc).find((o) => o.operationId === a.operationId);
  if (!op) {
    return new Error(`No operation "${a.operationId}"; find one with search_api`);
  }
  const missing: string[] = [];
  const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = a.pathParams?.[name];
    if (v === undefined) {
      missing.push(name);
      return "";
    }
    return encodeURIComponent(v);
  });
  if (missing.length > 0) {
    return new Error(`${a.operationId} needs pathParams: ${missing.join(", ")}`);
  }
  return { method: op.method as ApiCall["method"], path, query: a.query, body: a.body };
}
