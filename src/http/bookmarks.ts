// D1 read replicas over HTTP: a request's org databases are D1 sessions; the response carries
// the newest bookmark they reached in `x-d1-bookmark`, and a request sending one back reads at
// least that far (read-your-writes across requests, whichever replica serves them).
import { createMiddleware } from "hono/factory";
import { inD1Sessions, latestBookmark } from "../db/shards";
import type { AppEnv } from "../ground/env";
import { DomainError } from "../ground/errors";

export const BOOKMARK_HEADER = "x-d1-bookmark";

/**
 * What D1 hands out: hex fields joined by dashes (e.g. `00000085-0000024c-00004c6d-8e61…`).
 * Checked loosely on purpose — a stricter pattern would turn a future format into 400s — but
 * enough to refuse what no bookmark looks like before it reaches D1.
 */
const BOOKMARK = /^[0-9a-f]{1,64}(-[0-9a-f]{1,64}){1,7}$/i;

export const d1Bookmarks = createMiddleware<AppEnv>(async (c, next) => {
  const sent = c.req.header(BOOKMARK_HEADER)?.trim();
  if (sent !== undefined && !BOOKMARK.test(sent)) {
    throw new DomainError(
      "bad_request",
      `${BOOKMARK_HEADER} is not a D1 bookmark: send back the value a response carried`,
    );
  }
  await inD1Sessions(sent || null, async (scope) => {
    await next();
    const bookmark = latestBookmark(scope);
    if (bookmark) {
      try {
        c.res.headers.set(BOOKMARK_HEADER, bookmark);
      } catch {
        c.res = new Response(c.res.body, c.res);
        c.res.headers.set(BOOKMARK_HEADER, bookmark);
      }
    }
  });
});

const EXAMPLE = "00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683";

type Operation = {
  parameters?: unknown[];
  responses?: Record<string, { $ref?: string; headers?: Record<string, unknown> }>;
};
type Document = {
  paths?: Record<string, Record<string, Operation>>;
  components?: Record<string, Record<string, unknown> | undefined>;
};

/** Paths whose requests run in D1 sessions: the API under /v1 that names an org. */
export const inSessions = (path: string) =>
  path.startsWith("/v1/") && path !== "/v1/health" && !path.startsWith("/v1/admin/");

/**
 * Documents the bookmark once, as a reusable header and parameter, and refers to them from
 * every operation that runs in D1 sessions (its request header) and every success it answers
 * (the response header): one description, no route left out.
 */
export function documentBookmarks<T>(doc: T): T {
  const d = doc as Document;
  d.components ??= {};
  d.components.headers = {
    ...d.components.headers,
    D1Bookmark: {
      description:
        "The D1 bookmark this request's reads and writes reached (present once it ran a query). Send it back in `x-d1-bookmark` on a later request to read at least that far — your own writes — whichever read replica serves it.",
      schema: { type: "string", example: EXAMPLE },
    },
  };
  d.components.parameters = {
    ...d.components.parameters,
    D1Bookmark: {
      name: BOOKMARK_HEADER,
      in: "header",
      required: false,
      description:
        "A bookmark from an earlier response's `x-d1-bookmark`: this request's lag-tolerant reads (lists, analytics) start at least that far. A value that is no bookmark: 400 `bad_request`.",
      schema: { type: "string", example: EXAMPLE },
    },
  };
  for (const [path, item] of Object.entries(d.paths ?? {})) {
    if (!inSessions(path)) {
      continue;
    }
    for (const op of Object.values(item)) {
      if (!op || typeof op !== "object" || !("responses" in op)) {
        continue;
      }
      op.parameters = [...(op.parameters ?? []), { $ref: "#/components/parameters/D1Bookmark" }];
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (status.startsWith("2") && !response.$ref) {
          response.headers = {
            ...response.headers,
            [BOOKMARK_HEADER]: { $ref: "#/components/headers/D1Bookmark" },
          };
        }
      }
    }
  }
  return doc;
}
