// The tracking pixel and click redirect: signed tokens (altered, foreign, rotated), no database
// before answering, human and machine opens and clicks.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src";
import { signToken } from "../../src/security/tokens";
import { call, expectError, poll } from "../helpers/api";
import { message, sentAgo, sentEmail, tamper } from "../helpers/edge";
import { enrollment } from "../helpers/enrollments";

afterEach(() => vi.restoreAllMocks());

describe("tracking pixel and click redirect", () => {
  it("answers a good pixel with a no-store GIF and a good click with a 302", async () => {
    const s = await sentEmail();
    const px = await call("GET", s.pixel);
    expect(px.status).toBe(200);
    expect(px.headers.get("content-type")).toBe("image/gif");
    expect(px.headers.get("cache-control")).toContain("no-store");
    await sentAgo(60_000, s.messageId);
    const click = await call("GET", s.click, {
      headers: { "user-agent": "Mozilla/5.0 (Macintosh) AppleWebKit/605 Safari/605" },
    });
    expect(click.status).toBe(302);
    expect(click.headers.get("location")).toBe("https://acme.test/pricing?a=1");
  });

  it("never redirects on an altered, foreign-key or wrong-kind token", async () => {
    const s = await sentEmail();
    const token = s.click.split("/").pop() as string;
    expectError(await call("GET", `/t/c/${tamper(token)}`), 404, "not_found");
    const foreign = await signToken(
      { ...env, TOKEN_SIGNING_KEYS: "k1:some-other-secret-0123456789abcdefghij" },
      { k: "c", g: s.orgId, m: s.messageId, l: 0, u: "https://evil.test/" },
    );
    const r = await call("GET", `/t/c/${foreign}`);
    expectError(r, 404, "not_found");
    expect(r.headers.get("location")).toBeNull();
    expectError(await call("GET", `/t/c/${s.pixel.split("/").pop()}`), 404, "not_found");
    expectError(await call("GET", "/t/c/garbage"), 404, "not_found");
    expectError(
      await call("GET", `/t/o/${tamper(s.pixel.split("/").pop() as string)}`),
      404,
      "not_found",
    );
  });

  it("verifies tokens signed with an older key still listed (rotation)", async () => {
    const s = await sentEmail();
    const old = await signToken(
      { ...env, TOKEN_SIGNING_KEYS: "k0:test-signing-secret-zero-0123456789abcdef" },
      { k: "c", g: s.orgId, m: s.messageId, l: 0, u: "https://acme.test/old" },
    );
    const r = await call("GET", `/t/c/${old}`);
    expect(r.status).toBe(302);
    expect(r.headers.get("location")).toBe("https://acme.test/old");
  });

  it("touches no database before answering", async () => {
    const s = await sentEmail();
    const forbidden = new Proxy({} as D1Database, {
      get() {
        throw new Error("D1 was used on the edge path");
      },
    });
    for (const path of [s.pixel, s.click]) {
      const ctx = createExecutionContext();
      const res = await worker.fetch(
        new Request(`https://nudge.test${path}`, { redirect: "manual" }),
        { ...env, DB_DIRECTORY: forbidden, DB_SHARD_0: forbidden } as unknown as typeof env,
        ctx,
      );
      expect([200, 302]).toContain(res.status);
      await waitOnExecutionContext(ctx);
    }
  });

  it("counts a human open, resumes the enrollment waiting for email.opened, and flags machine opens apart", async () => {
    const s = await sentEmail();
    await call("GET", s.pixel, { headers: { "user-agent": "Mozilla/5.0" } }); // Apple Mail Privacy Protection
    await call("HEAD", s.pixel, {
      headers: { "user-agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/120" },
    });
    await poll(
      () => message(s.key, s.messageId),
      (m) => m.machineOpens === 2,
    );
    expect((await enrollment(s.key, s.enrollmentId)).status).toBe("waiting");
    await call("GET", s.pixel, {
      headers: { "user-agent": "Mozilla/5.0 (Windows NT 10.0) Thunderbird/115" },
    });
    const m = await poll(
      () => message(s.key, s.messageId),
      (m) => m.opens === 1,
    );
    expect(m.machineOpens).toBe(2);
    const e = await poll(
      () => enrollment(s.key, s.enrollmentId),
      (e) => e.status === "completed",
    );
    expect(
      e.timeline.some((l: { message: string }) => l.message.includes('"email.opened" received')),
    ).toBe(true);
  });

  it("flags a click within seconds of sending as a machine click, and counts a later one", async () => {
    const s = await sentEmail();
    await sentAgo(0, s.messageId); // sent just now: a click in the next 5 s is a scanner's
    await call("GET", s.click, { headers: { "user-agent": "Mozilla/5.0 (Macintosh) Safari/605" } });
    await poll(
      () => message(s.key, s.messageId),
      (m) => m.machineClicks === 1,
    );
    await call("GET", s.click, { headers: { "user-agent": "Proofpoint URL Defense" } });
    await poll(
      () => message(s.key, s.messageId),
      (m) => m.machineClicks === 2,
    );
    await sentAgo(60_000, s.messageId);
    await call("GET", s.click, { headers: { "user-agent": "Mozilla/5.0 (Macintosh) Safari/605" } });
    const m = await poll(
      () => message(s.key, s.messageId),
      (m) => m.clicks === 1,
    );
    expect(m.machineClicks).toBe(2);
    const events = await poll(
      async () =>
        (await call("GET", `/v1/contacts/${s.contactId}/events`, { key: s.key })).json.data,
      (d) => d.some((e: { name: string }) => e.name === "email.clicked"),
    );
    expect(events.find((e: { name: string }) => e.name === "email.clicked").data.url).toBe(
      "https://acme.test/pricing?a=1",
    );
    const stats = (
      await call(
        "GET",
        `/v1/workflows/${(await enrollment(s.key, s.enrollmentId)).workflowId}/stats`,
        { key: s.key },
      )
    ).json;
    expect(stats.steps[0].email).toMatchObject({ clicked: 1, machineClicked: 2 });
  });
});
