// Request id and logger on every request; JSON-only bodies (415) under 1 MiB (413).
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { config } from "../ground/config";
import type { AppEnv } from "../ground/env";
import { DomainError } from "../ground/errors";
import { newId } from "../ground/ids";
import { createLogger } from "../ground/log";

export const MAX_BODY_BYTES = 1024 * 1024;

export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const incoming = c.req.header("x-request-id");
  const id = incoming && /^[\w.:-]{1,128}$/.test(incoming) ? incoming : newId("req");
  c.set("requestId", id);
  // Work a request starts (jobs it queues) is traced by its request id.
  c.set("log", createLogger({ requestId: id, trace: id }, c.env ? config(c.env).logLevel : "info"));
  await next();
  try {
    c.res.headers.set("x-request-id", id);
  } catch {
    c.res = new Response(c.res.body, c.res);
    c.res.headers.set("x-request-id", id);
  }
});

export const limitBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new DomainError("payload_too_large", "The request body is larger than 1 MiB");
  },
});

const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/** JSON bodies nest at most this deep: far beyond any real payload, and short of any stack. */
export const MAX_JSON_DEPTH = 100;

/** How deep a JSON text nests (brackets outside strings), in one pass; stops counting past the limit. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92) {
        i++; // the escaped character
      } else if (ch === 34) {
        inString = false;
      }
    } else if (ch === 34) {
      inString = true;
    } else if (ch === 91 || ch === 123) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > MAX_JSON_DEPTH) {
          return deepest;
        }
      }
    } else if (ch === 93 || ch === 125) {
      depth--;
    }
  }
  return deepest;
}

/** A body on a JSON route must say it is JSON. `extra` lists other accepted media types per path. */
export function requireJsonBody(extra: Record<string, RegExp> = {}) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const method = c.req.method;
    if (method !== "POST" && method !== "PATCH" && method !== "PUT") {
      return next();
    }
    const length = c.req.header("content-length");
    const hasBody =
      (length !== undefined && length !== "0") || c.req.header("transfer-encoding") !== undefined;
    const type = c.req.header("content-type") ?? "";
    if (!hasBody && !type) {
      return next();
    }
    if (JSON_TYPE.test(type)) {
      if (hasBody && jsonDepth(await c.req.text()) > MAX_JSON_DEPTH) {
        throw new DomainError(
          "validation_failed",
          `The JSON body nests deeper than ${MAX_JSON_DEPTH} levels`,
          {
            details: [{ path: "", message: `At most ${MAX_JSON_DEPTH} levels of nesting` }],
          },
        );
      }
      return next();
    }
    const allowed = Object.entries(extra).find(([path]) => c.req.path === path);
    if (allowed?.[1].test(type)) {
      return next();
    }
    if (!hasBody) {
      return next();
    }
    throw new DomainError(
      "unsupported_media_type",
      `Content-Type must be application/json (got ${type || "none"})`,
    );
  });
}
