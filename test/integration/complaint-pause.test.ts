import { afterEach, describe, expect, it, vi } from "vitest";
import { activeWorkflow, call, newOrg, poll } from "../helpers/api";
import { DB } from "../helpers/db";

afterEach(() => vi.restoreAllMocks());

const HOOK = "https://hooks.complaints.test/x";

/** Postmark answers every send with a new MessageID; other URLs (webhooks) are recorded. */
function postmark() {
  let n = 0;
  const sends: string[] = [];
  const hooks: { url: string; body: string }[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input as RequestInfo, init);
    const body = await req.text();
    if (req.url === "https://api.postmarkapp.com/email") {
      sends.push(JSON.parse(body).To);
      return new Response(JSON.stringify({ MessageID: `pm-${++n}` }), {
        headers: { "content-type": "application/json" },
      });
    }
    hooks.push({ url: req.url, body });
    return new Response("ok");
  });
  return { sends, hooks };
}

/** An org with a paused-webhook, a Postmark connection and `count` emails sent through it. */
async function sentThrough(count: number) {
  const { key } = await newOrg();
  const { hooks } = postmark();
  expect(
    (
      await call("POST", "/v1/webhooks", {
        key,
        body: { url: HOOK, events: ["connection.paused"] },
      })
    ).status,
  ).toBe(201);
  const cxn = await call("POST", "/v1/connections", {
    key,
    body: {
      provider: "postmark",
      key: "complaints",
      credentials: { serverToken: "t", webhookUsername: "u", webhookPassword: "p" },
    },
  });
  expect(cxn.status).toBe(201);
  const w = await activeWorkflow(key, [
    {
      id: "m",
      type: "send_email",
      config: { subject: "Hi", html: "<p>Hi</p>", connectionId: cxn.json.id },
    },
  ]);
  await call("POST", "/v1/enrollments/bulk", {
    key,
    body: {
      workflowId: w.id,
      contacts: Array.from({ length: count }, (_, i) => ({ email: `c${i}@complaints.test` })),
    },
  });
  const sent = await poll(
    async () =>
      (
        await DB.prepare("select id, status from messages where workflow_id = ?")
          .bind(w.id)
          .all<{ id: string; status: string }>()
      ).results,
    (r) => r.length === count && r.every((m) => m.status === "sent"),
    15_000,
  );
  return { key, connectionId: cxn.json.id as string, sent, hooks };
}

/** Postmark's report for one of our messages (RecordType SpamComplaint or Delivery). */
const report = (connectionId: string, messageId: string, recordType: string, n: number) =>
  call("POST", `/inbound/postmark/${connectionId}`, {
    headers: { authorization: `Basic ${btoa("u:p")}` },
    body: {
      RecordType: recordType,
      ...(recordType === "SpamComplaint" ? { ID: n, Type: "SpamComplaint" } : {}),
      MessageID: `pm-report-${n}`,
      Metadata: { nudge_message_id: messageId },
    },
  });

describe("the complaint-rate auto-pause", () => {
  it("a complaint on 20 sends (5 %, over 0.3 %) pauses the connection and fires connection.paused", async () => {
    const s = await sentThrough(20);
    // A delivery report is not a complaint: the connection stays as it is.
    expect((await report(s.connectionId, s.sent[0].id, "Delivery", 1)).status).toBe(200);
    const before = (await call("GET", `/v1/connections/${s.connectionId}`, { key: s.key })).json;
    expect(before).toMatchObject({
      paused: false,
      stats: { sends: 20, complaintRate: 0, bounceRate: 0 },
    });
    expect((await report(s.connectionId, s.sent[1].id, "SpamComplaint", 2)).status).toBe(200);
    const after = (await call("GET", `/v1/connections/${s.connectionId}`, { key: s.key })).json;
    expect(after).toMatchObject({
      paused: true,
      pausedReason: "Complaint rate 5.00 % over the last 20 sends (limit 0.3 %)",
      stats: { sends: 20, complaintRate: 0.05, bounceRate: 0 },
    });
    const delivered = await poll(
      async () => s.hooks.filter((h) => h.url === HOOK),
      (h) => h.length === 1,
    );
    expect(JSON.parse(delivered[0].body)).toMatchObject({
      type: "connection.paused",
      data: {
        connectionId: s.connectionId,
        key: "complaints",
        sends: 20,
        complaintRate: 0.05,
        reason: "Complaint rate 5.00 % over the last 20 sends (limit 0.3 %)",
      },
    });
  });

  it("a complaint on 19 sends, too few to judge a rate by, leaves it sending", async () => {
    const s = await sentThrough(19);
    expect((await report(s.connectionId, s.sent[0].id, "SpamComplaint", 1)).status).toBe(200);
    const conn = (await call("GET", `/v1/connections/${s.connectionId}`, { key: s.key })).json;
    // The complaint is counted, yet under the 20-send floor no rate pauses the connection.
    expect(conn).toMatchObject({ paused: false, pausedReason: null, stats: { sends: 19 } });
    expect(conn.stats.complaintRate).toBeCloseTo(1 / 19, 6);
    expect(s.hooks.filter((h) => h.url === HOOK)).toEqual([]);
  });
});
