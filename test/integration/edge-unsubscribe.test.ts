// One-click unsubscribe (RFC 8058): the confirmation page, the POST that unsubscribes, forged tokens.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src";
import { signToken } from "../../src/security/tokens";
import { call, expectError, poll } from "../helpers/api";
import { sentEmail } from "../helpers/edge";
import { drained, settle } from "../helpers/enrollments";

afterEach(() => vi.restoreAllMocks());

describe("one-click unsubscribe", () => {
  it("shows a confirmation page on GET and changes nothing", async () => {
    const s = await sentEmail();
    const queued = vi.spyOn(env.EVENT_QUEUE, "send");
    const batched = vi.spyOn(env.EVENT_QUEUE, "sendBatch");
    const ctx = createExecutionContext();
    const page = await worker.fetch(new Request(`https://nudge.test${s.unsubscribe}`), env, ctx);
    await waitOnExecutionContext(ctx); // everything the request started has finished
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain('method="post"');
    expect(queued).not.toHaveBeenCalled();
    expect(batched).not.toHaveBeenCalled();
    expect((await call("GET", `/v1/contacts/${s.contactId}`, { key: s.key })).json.subscribed).toBe(
      true,
    );
  });

  it.each([
    [
      "form-encoded",
      () => ({
        raw: "List-Unsubscribe=One-Click",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
    ],
    [
      "multipart",
      () => {
        const form = new FormData();
        form.set("List-Unsubscribe", "One-Click");
        return { raw: form };
      },
    ],
  ])(
    "unsubscribes on POST (%s), idempotently, and no further email is sent",
    async (_name, body) => {
      const s = await sentEmail({
        steps: [
          { id: "m", type: "send_email", config: { subject: "Hi", html: "<p>x</p>" } },
          { id: "w", type: "wait_for_event", config: { eventName: "go", timeout: 86400 } },
          { id: "again", type: "send_email", config: { subject: "Again", html: "<p>x</p>" } },
        ],
      });
      const res = await call("POST", s.unsubscribe, body());
      expect(res.status).toBe(200);
      expect(res.headers.get("location")).toBeNull();
      expect((await call("POST", s.unsubscribe, body())).status).toBe(200);
      const c = await poll(
        async () => (await call("GET", `/v1/contacts/${s.contactId}`, { key: s.key })).json,
        (c) => c.subscribed === false,
      );
      expect(c.unsubscribedAt).toMatch(/Z$/);
      const events = await poll(
        async () =>
          (await call("GET", `/v1/contacts/${s.contactId}/events`, { key: s.key })).json.data,
        (d) => d.some((e: { name: string }) => e.name === "contact.unsubscribed"),
      );
      expect(
        events.filter((e: { name: string }) => e.name === "contact.unsubscribed"),
      ).toHaveLength(1);
      // The journey goes on to its next email step: it is skipped, and nothing is sent.
      expect(
        (
          await call("POST", "/v1/events?wait=true", {
            key: s.key,
            body: { name: "go", contactId: s.contactId },
          })
        ).json.resumed,
      ).toEqual([s.enrollmentId]);
      const done = await settle(s.key, s.enrollmentId);
      expect(done.status).toBe("completed");
      expect(
        done.timeline.find(
          (l: { stepId: string; status: string }) => l.stepId === "again" && l.status !== "started",
        ),
      ).toMatchObject({
        status: "skipped",
        outcome: "suppressed",
      });
      await drained(s.enrollmentId);
      expect(
        (await call("GET", `/v1/messages?contactId=${s.contactId}`, { key: s.key })).json.data.map(
          (m: { stepId: string }) => m.stepId,
        ),
      ).toEqual(["m"]);
      expect((await call("GET", "/v1/outbox", { key: s.key })).json.data).toHaveLength(1);
    },
  );

  it("refuses a forged unsubscribe token", async () => {
    const s = await sentEmail();
    const forged = await signToken(
      { ...env, TOKEN_SIGNING_KEYS: "k1:not-ours-0123456789abcdefghijklmnopqr" },
      { k: "u", g: s.orgId, m: s.messageId, c: s.contactId },
    );
    expectError(
      await call("POST", `/t/u/${forged}`, {
        raw: "List-Unsubscribe=One-Click",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
      404,
      "not_found",
    );
  });
});
