// The OpenAPI document rendered as Markdown for agents: one section per operation (its
// operationId, method and path, summary, description, parameters, body and answers), grouped
// by tag. Schemas are named, not inlined: the full shapes are in /openapi-v1.json.

interface Schema {
  $ref?: string;
  type?: string | string[];
  items?: Schema;
  enum?: unknown[];
  properties?: Record<string, Schema>;
}
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: Schema;
}
interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, unknown>[];
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<
    string,
    { description?: string; content?: Record<string, { schema?: Schema }> }
  >;
}
export interface OpenApiDocument {
  info?: { title?: string; version?: string; description?: string };
  paths?: Record<string, Record<string, Operation>>;
}

const METHODS = ["get", "post", "put", "patch", "delete"];

/** A short name for a schema: its component name, `array of X`, or its type. */
export function schemaName(s: Schema | undefined): string {
  if (!s) {
    return "—";
  }
  if (s.$ref) {
    return s.$ref.split("/").pop() ?? s.$ref;
  }
  if (s.enum) {
    return s.enum.map((v) => JSON.stringify(v)).join(" \\| ");
  }
  if (s.type === "array") {
    return `array of ${schemaName(s.items)}`;
  }
  if (s.properties) {
    return `{${Object.keys(s.properties).join(", ")}}`;
  }
  return Array.isArray(s.type) ? s.type.join(" \\| ") : (s.type ?? "any");
}

const cell = (text: string | undefined) => (text ?? "").replace(/\|/g, "\\|").replace(/\n+/g, " ");

function operationMd(method: string, path: string, op: Operation): string {
  const lines = [
    `### ${op.operationId ?? `${method} ${path}`}`,
    "",
    `\`${method.toUpperCase()} ${path}\``,
  ];
  if (op.summary) {
    lines.push("", op.summary);
  }
  if (op.description) {
    lines.push("", op.description);
  }
  const auth = (op.security ?? []).flatMap((s) => Object.keys(s));
  lines.push("", `Auth: ${auth.length > 0 ? auth.join(", ") : "none"}`);
  if (op.parameters?.length) {
    lines.push("", "| parameter | in | required | type |", "| --- | --- | --- | --- |");
    for (const p of op.parameters) {
      lines.push(
        `| ${p.name} | ${p.in} | ${p.required ? "yes" : "no"} | ${cell(schemaName(p.schema))} |`,
      );
    }
  }
  for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
    lines.push("", `Body (\`${type}\`): ${schemaName(media.schema)}`);
  }
  lines.push("", "| status | answer |", "| --- | --- |");
  for (const [status, r] of Object.entries(op.responses ?? {})) {
    const body = Object.values(r.content ?? {})[0]?.schema;
    lines.push(
      `| ${status} | ${cell(r.description)}${body ? ` (${cell(schemaName(body))})` : ""} |`,
    );
  }
  return lines.join("\n");
}

export function referenceMarkdown(doc: OpenApiDocument): string {
  const byTag = new Map<string, string[]>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (op) {
        const tag = op.tags?.[0] ?? "Other";
        byTag.set(tag, [...(byTag.get(tag) ?? []), operationMd(method, path, op)]);
      }
    }
  }
  const out = [
    `# ${doc.info?.title ?? "API"} reference (v${doc.info?.version ?? "1"})`,
    "",
    doc.info?.description ?? "",
    "",
    "Rendered from `/openapi-v1.json`, where every schema named below is defined in full.",
  ];
  for (const [tag, sections] of byTag) {
    out.push("", `## ${tag}`, "", sections.join("\n\n"));
  }
  return `${out.join("\n")}\n`;
}

/** /llms.txt: the llms.txt convention — a title, a summary, then sections of links. */
export function llmsTxt(origin: string, doc: OpenApiDocument): string {
  const ops = Object.values(doc.paths ?? {}).flatMap((item) =>
    METHODS.flatMap((m) => (item[m] ? [item[m]] : [])),
  );
  return `# Nudge

> Drip and outreach automation at the edge: define workflows (trigger → steps), enroll contacts
> one at a time, in bulk, by import or by events, and read what happened. JSON over HTTP with a
> Bearer API key; ${ops.length} operations, each with an operationId.

## Docs
- [Skills brief (v1)](${origin}/docs/skills-v1.md): auth, conventions, what to use when, the error playbook, the golden path
- [OpenAPI document (v1)](${origin}/openapi-v1.json): the machine-readable contract
- [API reference in Markdown](${origin}/docs/reference.md): every operation with its parameters and answers

## Tools
- [MCP server](${origin}/mcp): Model Context Protocol over Streamable HTTP, same API key (Bearer or \`x-api-key\`)

## Optional
- [Interactive reference](${origin}/docs)
`;
}
