// D1 read replicas (#31): requests run on D1 sessions; responses carry the bookmark their
// queries reached, and a request sending it back reads at least that far. Locally D1 has no
// replicas — every session is served by the one database — so these tests prove the plumbing:
// which anchor each session starts from, and that the bookmark travels both ways.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, expectError, newOrg } from "../helpers/api";

afterEach(() => vi.restoreAllMocks());

/** Records the anchor of every D1 session the Worker opens on shard 0. */
function sessionAnchors() {
  const shard = env.DB_SHARD_0 as unknown as D1Database;
  const anchors: string[] = [];
  const real = shard.withSession.bind(shard);
  vi.spyOn(shard, "withSession").mockImplementation((anchor) => {
    anchors.push(anchor ?? "");
    return real(anchor);
  });
  return anchors;
}

const BOOKMARK = /^[0-9a-f]+(-[0-9a-f]+)+$/;

describe("x-d1-bookmark", () => {
  it("comes back from a write (the primary's) and lets the next read see that write", async () => {
    const { key } = await newOrg();
    const anchors = sessionAnchors();
    const written = await call("POST", "/v1/contacts", {
      key,
      body: { email: "bookmark@x.co" },
    });
    expect(written.status).toBeLessThan(300);
    expect(anchors).toContain("first-primary");
    const bookmark = written.headers.get("x-d1-bookmark");
    expect(bookmark).toMatch(BOOKMARK);

    anchors.length = 0;
    const read = await call("GET", "/v1/contacts", {
      key,
      headers: { "x-d1-bookmark": bookmark as string },
    });
    expect(read.status).toBe(200);
    // The list's session started from the client's bookmark, not anywhere.
    expect(anchors).toEqual([bookmark]);
    expect(read.json.data.map((c: { email: string }) => c.email)).toContain("bookmark@x.co");
    const after = read.headers.get("x-d1-bookmark");
    expect(after).toMatch(BOOKMARK);
    // Bookmarks order as strings: the read's is not behind the write it was asked to follow.
    expect((after as string) >= (bookmark as string)).toBe(true);
  });

  it("is on every list response, whose reads start anywhere when no bookmark is sent", async () => {
    const { key } = await newOrg();
    const anchors = sessionAnchors();
    for (const path of ["/v1/contacts", "/v1/enrollments", "/v1/workflows", "/v1/messages"]) {
      anchors.length = 0;
      const res = await call("GET", path, { key });
      expect(res.status, path).toBe(200);
      expect(res.headers.get("x-d1-bookmark"), path).toMatch(BOOKMARK);
      expect(anchors, path).toEqual(["first-unconstrained"]);
    }
    const analytics = await call("GET", "/v1/analytics/metrics?metrics=sent", { key });
    expect(analytics.headers.get("x-d1-bookmark")).toMatch(BOOKMARK);
  });

  it("keeps a single contact's read on the primary: it may follow a write just made", async () => {
    const { key } = await newOrg();
    const made = await call("POST", "/v1/contacts", { key, body: { email: "one@x.co" } });
    const anchors = sessionAnchors();
    const res = await call("GET", `/v1/contacts/${made.json.id}`, { key });
    expect(res.status).toBe(200);
    expect(anchors).toEqual(["first-primary"]);
  });

  it("refuses a malformed bookmark with 400 bad_request in the contract's shape", async () => {
    const { key } = await newOrg();
    for (const bad of ["not a bookmark", "'; DROP TABLE contacts; --", "zzzz-0000"]) {
      const res = await call("GET", "/v1/contacts", { key, headers: { "x-d1-bookmark": bad } });
      expectError(res, 400, "bad_request");
    }
  });

  it("is documented once, as a header and a parameter every org route refers to", async () => {
    const doc = (await call("GET", "/openapi.json")).json;
    expect(doc.components.headers.D1Bookmark.schema.type).toBe("string");
    expect(doc.components.parameters.D1Bookmark).toMatchObject({
      name: "x-d1-bookmark",
      in: "header",
    });
    const list = doc.paths["/v1/contacts"].get;
    expect(list.parameters).toContainEqual({ $ref: "#/components/parameters/D1Bookmark" });
    expect(list.responses["200"].headers["x-d1-bookmark"]).toEqual({
      $ref: "#/components/headers/D1Bookmark",
    });
    expect(doc.paths["/v1/health"].get.parameters ?? []).not.toContainEqual({
      $ref: "#/components/parameters/D1Bookmark",
    });
  });
});
