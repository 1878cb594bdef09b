// Liquid rendering shared by previews, the dry run and the email consumer. Pure: no I/O.
// Variables are HTML-escaped in `html` and left raw in `subject` and `text`; an unknown
// filter is an error, never silently dropped.
import { Liquid, type Template } from "liquidjs";

const htmlLiquid = new Liquid({ strictFilters: true, outputEscape: "escape", cache: 200 });
const textLiquid = new Liquid({ strictFilters: true, cache: 200 });

export interface RenderContext {
  contact: Record<string, unknown>;
  vars: Record<string, unknown>;
  event: Record<string, unknown>;
  workflow: { id: string; name: string };
  enrollment: { id: string };
  unsubscribeUrl: string;
}

export interface TemplateSource {
  subject: string;
  html: string;
  text?: string | null;
}

export interface TemplateProblem {
  path: string;
  message: string;
}

function parseOne(liquid: Liquid, field: string, source: string): Template[] | TemplateProblem {
  try {
    return liquid.parse(source);
  } catch (err) {
    const e = err as { message?: string; token?: { getPosition?: () => [number, number] } };
    const pos = e.token?.getPosition?.();
    const line = pos ? pos[0] : Number(/line:(\d+)/.exec(e.message ?? "")?.[1] ?? 1);
    return {
      path: field,
      message: `Liquid syntax error on line ${line}: ${(e.message ?? String(err)).split(", line:")[0]}`,
    };
  }
}

/** Checks every field parses (syntax and filters); returns the problems, each naming its line. */
export function validateTemplate(src: Partial<TemplateSource>): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  for (const [field, liquid] of [
    ["subject", textLiquid],
    ["html", htmlLiquid],
    ["text", textLiquid],
  ] as const) {
    const source = src[field];
    if (typeof source !== "string") {
      continue;
    }
    const parsed = parseOne(liquid, field, source);
    if (!Array.isArray(parsed)) {
      problems.push(parsed);
    }
  }
  return problems;
}

export class TemplateRenderError extends Error {}

function renderWith(liquid: Liquid, field: string, source: string, ctx: object): string {
  const parsed = parseOne(liquid, field, source);
  if (!Array.isArray(parsed)) {
    throw new TemplateRenderError(parsed.message);
  }
  try {
    return liquid.renderSync(parsed, ctx) as string;
  } catch (err) {
    throw new TemplateRenderError(`Rendering ${field} failed: ${(err as Error).message}`);
  }
}

/** Renders a whole email. `text` is only rendered when the template has one. */
export function renderTemplate(src: TemplateSource, ctx: RenderContext) {
  return {
    subject: renderWith(textLiquid, "subject", src.subject, ctx)
      .replace(/[\r\n]+/g, " ")
      .trim(),
    html: renderWith(htmlLiquid, "html", src.html, ctx),
    text: src.text ? renderWith(textLiquid, "text", src.text, ctx) : null,
  };
}

/** Renders one templated string value (webhook bodies, update_contact values). */
export function renderString(source: string, ctx: object): string {
  if (!source.includes("{{") && !source.includes("{%")) {
    return source;
  }
  return renderWith(textLiquid, "value", source, ctx);
}

/** Renders every string inside a JSON value. */
export function renderDeep(value: unknown, ctx: object): unknown {
  if (typeof value === "string") {
    return renderString(value, ctx);
  }
  if (Array.isArray(value)) {
    return value.map((v) => renderDeep(v, ctx));
  }
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderDeep(v, ctx)]));
  }
  return value;
}
