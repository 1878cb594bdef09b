import { describe, expect, it } from "vitest";
import { activeWorkflow, call, newOrg, poll } from "../helpers/api";
import { DB } from "../helpers/db";
import { deliver } from "../helpers/mail";

/** An org whose one-email workflow (kept waiting afterwards) sent `to` a message. */
async function sent() {
  const { key, orgId } = await newOrg();
  const w = await activeWorkflow(
    key,
    [
      { id: "m1", type: "send_email", config: { subject: "Hello", html: "<p>Hello</p>" } },
      { id: "w", type: "delay", config: { amount: 2, unit: "days" } },
    ],
    { stopOnReply: false },
  );
  const to = `lead${crypto.randomUUID().slice(0, 8)}@prospect.test`;
  const e = await call("POST", "/v1/enrollments", {
    key,
    body: { workflowId: w.id, contact: { email: to } },
  });
  expect(e.status, e.text).toBe(201);
  const [first] = await poll(
    async () =>
      (await call("GET", `/v1/outbox?to=${encodeURIComponent(to)}`, { key })).json.data as {
        messageId: string;
        headers: Record<string, string>;
      }[],
    (d) => d.length > 0,
  );
  return { key, orgId, workflowId: w.id, contactId: e.json.contactId as string, to, first };
}

/** Everything a repeat could change: the message row, the contact, its events, the figures. */
async function snapshot(s: Awaited<ReturnType<typeof sent>>) {
  const message = await DB.prepare("SELECT * FROM messages WHERE id = ?")
    .bind(s.first.messageId)
    .first();
  const contact = (await call("GET", `/v1/contacts/${s.contactId}`, { key: s.key })).json;
  const events = (
    await call("GET", `/v1/contacts/${s.contactId}/events`, { key: s.key })
  ).json.data.map((e: { name: string }) => e.name);
  const stats = (await call("GET", `/v1/workflows/${s.workflowId}/stats`, { key: s.key })).json;
  // The facts the figures are rolled up from, by metric.
  const facts = (
    await DB.prepare(
      "SELECT metric, sum(value) AS n FROM metric_facts WHERE org_id = ? GROUP BY metric ORDER BY metric",
    )
      .bind(s.orgId)
      .all()
  ).results;
  // The received mail the org keeps (a repeat would be a second row).
  const inbound = (
    await DB.prepare("SELECT kind, message_id FROM inbound_mail WHERE org_id = ?")
      .bind(s.orgId)
      .all()
  ).results;
  return { message, contact, events, stats, facts, inbound };
}

describe("delivered twice, counted once", () => {
  it("the same inbound reply delivered again changes nothing", async () => {
    const s = await sent();
    const id = s.first.headers["Message-ID"];
    const reply = [
      `Date: ${new Date().toUTCString()}`,
      "Message-ID: <same-reply-1@mail.example>",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      `From: ${s.to}`,
      "To: sales@acme.test",
      "Subject: Re: Hello",
      `In-Reply-To: ${id}`,
      `References: ${id}`,
      "",
      "Thanks, talk soon.",
    ].join("\r\n");
    await deliver(s.to, "x@inbound.acme.test", reply);
    await poll(
      async () => (await snapshot(s)).events,
      (names: string[]) => names.includes("email.replied"),
    );
    const once = await snapshot(s);
    expect(once.message?.replied_at).not.toBeNull();
    expect(once.inbound).toEqual([{ kind: "reply", message_id: s.first.messageId }]);
    await deliver(s.to, "x@inbound.acme.test", reply);
    const twice = await snapshot(s);
    expect(twice).toEqual(once);
    expect(twice.events.filter((n: string) => n === "email.replied")).toHaveLength(1);
  });

  it("a provider's bounce callback repeated with the same event id changes nothing", async () => {
    const s = await sent();
    const conn = await call("POST", "/v1/connections", {
      key: s.key,
      body: {
        provider: "postmark",
        key: "pm",
        credentials: { serverToken: "t", webhookUsername: "hook", webhookPassword: "pw-123" },
      },
    });
    expect(conn.status, conn.text).toBe(201);
    await DB.prepare("UPDATE messages SET provider_message_id = 'pm-dup' WHERE id = ?")
      .bind(s.first.messageId)
      .run();
    const bounce = () =>
      call("POST", `/inbound/postmark/${conn.json.id}`, {
        raw: JSON.stringify({
          RecordType: "Bounce",
          Type: "HardBounce",
          ID: 77,
          MessageID: "pm-dup",
        }),
        headers: {
          "content-type": "application/json",
          authorization: `Basic ${btoa("hook:pw-123")}`,
        },
      });
    const first = await bounce();
    expect(first.status, first.text).toBe(200);
    expect(first.json.applied).toBe(1);
    await poll(
      async () => (await snapshot(s)).message?.status,
      (status) => status === "bounced",
    );
    const once = await snapshot(s);
    const again = await bounce();
    expect(again.status, again.text).toBe(200);
    expect(again.json.applied).toBe(0);
    expect(await snapshot(s)).toEqual(once);
  });
});
