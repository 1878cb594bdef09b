// Sending governance: message categories, frequency caps (exact under concurrency), quiet hours.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runWatchdog } from "../../src/watchdog";
import { activeWorkflow, call, expectError, newOrg, poll, testLog } from "../helpers/api";
import { DB } from "../helpers/db";
import { enrollment, expireWait, settle } from "../helpers/enrollments";

afterEach(() => vi.restoreAllMocks());

const mail = (id: string, subject: string, extra: object = {}) => ({
  id,
  type: "send_email",
  config: { subject, html: `<p>${subject}</p>`, ...extra },
});

async function capEmail(key: string, cap: object, quietHours: object | null = null) {
  const res = await call("PUT", "/v1/settings/sending", {
    key,
    body: { caps: { "email.marketing": cap }, quietHours },
  });
  expect(res.status).toBe(200);
}

const outboxTo = async (key: string, to: string) =>
  (await call("GET", `/v1/outbox?to=${encodeURIComponent(to)}`, { key })).json.data as {
    subject: string;
    headers: Record<string, string>;
  }[];

/** Local hh:mm of an instant in a zone. */
const localTime = (iso: string, zone: string) =>
  new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit" }).format(
    Date.parse(iso),
  );

describe("the sending policy", () => {
  it("GET/PUT /v1/settings/sending: the whole policy, validated", async () => {
    const { key } = await newOrg();
    expect((await call("GET", "/v1/settings/sending", { key })).json).toEqual({
      caps: {},
      quietHours: null,
    });
    const policy = {
      caps: { "email.marketing": { perDay: 2, perWeek: 5 }, "sms.marketing": { perDay: 1 } },
      quietHours: { days: ["mon", "tue"], start: "21:00", end: "08:00" },
    };
    expect((await call("PUT", "/v1/settings/sending", { key, body: policy })).json).toEqual(policy);
    expect((await call("GET", "/v1/settings/sending", { key })).json).toEqual(policy);
    const bad = await call("PUT", "/v1/settings/sending", {
      key,
      body: { caps: { "email.transactional": { perDay: 1 } } },
    });
    expectError(bad, 422, "validation_failed");
    expectError(
      await call("PUT", "/v1/settings/sending", { key, body: { caps: { "email.marketing": {} } } }),
      422,
      "validation_failed",
    );
    // Another org's policy is its own.
    const other = await newOrg("Other");
    expect((await call("GET", "/v1/settings/sending", { key: other.key })).json.caps).toEqual({});
  });
});

describe("frequency caps", () => {
  it("defers the third marketing email of the day to the next local day; transactional mail passes", async () => {
    const { key } = await newOrg();
    await capEmail(key, { perDay: 2 });
    const w = await activeWorkflow(key, [
      mail("m1", "One"),
      mail("m2", "Two"),
      mail("m3", "Three"),
    ]);
    const zone = "America/New_York";
    const e = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: w.id, contact: { email: "capped@x.test", timezone: zone } },
    });
    const waiting = await settle(key, e.json.id);
    expect(waiting).toMatchObject({ status: "waiting", currentStepId: "m3" });
    expect(localTime(waiting.nextRunAt, zone)).toBe("00:00");
    expect(Date.parse(waiting.nextRunAt)).toBeGreaterThan(Date.now());
    expect(Date.parse(waiting.nextRunAt) - Date.now()).toBeLessThanOrEqual(86_400_000);
    expect(waiting.timeline.at(-1).message).toMatch(
      /^Deferred by the org's frequency cap on marketing email; waiting until /,
    );
    // A transactional email to the same contact passes the full cap, without an unsubscribe link.
    const receipt = await activeWorkflow(key, [
      mail("r", "Receipt", { category: "transactional" }),
    ]);
    const r = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: receipt.id, contact: { email: "capped@x.test" } },
    });
    expect((await settle(key, r.json.id)).status).toBe("completed");
    const sent = await poll(
      () => outboxTo(key, "capped@x.test"),
      (o) => o.length === 3,
    );
    expect(sent.map((m) => m.subject).sort()).toEqual(["One", "Receipt", "Two"]);
    const receiptMail = sent.find((m) => m.subject === "Receipt");
    expect(receiptMail?.headers["List-Unsubscribe"]).toBeUndefined();
    expect(sent.find((m) => m.subject === "One")?.headers["List-Unsubscribe"]).toMatch(/^</);
    const messages = (await call("GET", `/v1/messages?contactId=${e.json.contactId}`, { key })).json
      .data as { subject: string; category: string }[];
    expect(messages.map((m) => `${m.subject}:${m.category}`).sort()).toEqual([
      "One:marketing",
      "Receipt:transactional",
      "Two:marketing",
    ]);

    // The next local day: the contact's slots of today are in the past.
    await DB.prepare(
      "update send_claims set day = '2000-01-01', week = '2000-W01' where contact_id = ?",
    )
      .bind(e.json.contactId)
      .run();
    expect(await expireWait(e.json.id)).toBe(true);
    expect(
      (
        await poll(
          () => enrollment(key, e.json.id),
          (x) => x.status === "completed",
        )
      ).status,
    ).toBe("completed");
    await poll(
      () => outboxTo(key, "capped@x.test"),
      (o) => o.some((m) => m.subject === "Three"),
    );
    const metrics = await call(
      "GET",
      "/v1/analytics/metrics?metrics=sent&groupBy=category&timezone=UTC",
      { key },
    );
    const byCategory = Object.fromEntries(
      (metrics.json.series as { key: string; totals: { sent: number } }[]).map((s) => [
        s.key,
        s.totals.sent,
      ]),
    );
    expect(byCategory).toEqual({ marketing: 3, transactional: 1 });
  });

  it("concurrent enrollments of one contact cannot pass the cap together", async () => {
    const { key } = await newOrg();
    await capEmail(key, { perDay: 2 });
    const contact = (
      await call("POST", "/v1/contacts", { key, body: { email: "race@x.test", timezone: "UTC" } })
    ).json;
    const flows = await Promise.all(
      Array.from({ length: 6 }, (_, i) => activeWorkflow(key, [mail(`s${i}`, `Mail ${i}`)])),
    );
    const enrolled = await Promise.all(
      flows.map((w) =>
        call("POST", "/v1/enrollments", { key, body: { workflowId: w.id, contactId: contact.id } }),
      ),
    );
    const states = await Promise.all(enrolled.map((e) => settle(key, e.json.id)));
    expect(states.filter((s) => s.status === "completed")).toHaveLength(2);
    expect(states.filter((s) => s.status === "waiting")).toHaveLength(4);
    await poll(
      () => outboxTo(key, "race@x.test"),
      (o) => o.length === 2,
    );
    const slots = await DB.prepare("select count(*) as n from send_claims where contact_id = ?")
      .bind(contact.id)
      .first<{ n: number }>();
    expect(slots?.n).toBe(2);
  });

  it("a week cap waits for the next ISO week; onCap skip takes outcome capped", async () => {
    const { key } = await newOrg();
    await capEmail(key, { perWeek: 1 });
    const zone = "Europe/Paris";
    const w = await activeWorkflow(key, [mail("a", "A"), mail("b", "B")]);
    const e = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: w.id, contact: { email: "week@x.test", timezone: zone } },
    });
    const waiting = await settle(key, e.json.id);
    expect(waiting.currentStepId).toBe("b");
    const opens = Date.parse(waiting.nextRunAt);
    expect(localTime(waiting.nextRunAt, zone)).toBe("00:00");
    expect(
      new Intl.DateTimeFormat("en-GB", { timeZone: zone, weekday: "short" }).format(opens),
    ).toBe("Mon");
    const skipping = await activeWorkflow(
      key,
      [mail("c", "C"), { id: "after", type: "log", config: { message: "capped" } }],
      {
        onCap: "skip",
        transitions: [{ from: "c", to: "after", on: "capped" }],
      },
    );
    const s = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: skipping.id, contactId: e.json.contactId },
    });
    const done = await settle(key, s.json.id);
    expect(done).toMatchObject({ status: "completed", currentStepId: "after" });
    expect(
      done.timeline.find(
        (l: { stepId: string; outcome?: string }) => l.stepId === "c" && l.outcome,
      ),
    ).toMatchObject({ outcome: "capped", status: "completed" });
  });
});

describe("quiet hours and categories", () => {
  it("marketing waits out the org's quiet hours; transactional mail and unsubscribed contacts", async () => {
    const { key } = await newOrg();
    // A zone where it is now 02:xx: inside quiet hours 21:00–08:00.
    const hour = new Date().getUTCHours();
    let offset = (2 - hour + 24) % 24;
    if (offset > 12) {
      offset -= 24;
    }
    const zone = `Etc/GMT${offset > 0 ? "-" : "+"}${Math.abs(offset)}`;
    await call("PUT", "/v1/settings/sending", {
      key,
      body: { quietHours: { start: "21:00", end: "08:00" } },
    });
    const w = await activeWorkflow(key, [mail("m", "Promo")]);
    const e = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: w.id, contact: { email: "night@x.test", timezone: zone } },
    });
    const waiting = await settle(key, e.json.id);
    expect(waiting.status).toBe("waiting");
    expect(localTime(waiting.nextRunAt, zone)).toBe("08:00");
    expect(waiting.timeline.at(-1).message).toMatch(/^Inside the org's quiet hours/);
    // A workflow with its own send window is governed by it, not by the quiet hours.
    const windowed = await activeWorkflow(key, [mail("w", "Windowed")], {
      sendWindow: {
        days: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
        start: "00:00",
        end: "23:59",
      },
    });
    const we = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: windowed.id, contact: { email: "night@x.test" } },
    });
    expect((await settle(key, we.json.id)).status).toBe("completed");
    // Transactional mail goes at night, and to an unsubscribed contact; marketing does not.
    await call("PATCH", `/v1/contacts/${e.json.contactId}`, { key, body: { subscribed: false } });
    const tx = await activeWorkflow(key, [
      mail("t", "Your receipt", { category: "transactional" }),
      mail("p", "Promo 2"),
    ]);
    const te = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: tx.id, contactId: e.json.contactId },
    });
    const done = await settle(key, te.json.id);
    expect(done.status).toBe("completed");
    expect(
      done.timeline
        .filter((l: { outcome?: string }) => l.outcome)
        .map((l: { stepId: string; outcome: string }) => `${l.stepId}:${l.outcome}`),
    ).toEqual(["t:sent", "p:suppressed"]);
  });

  it("a workflow's category is the default of its steps; the step's own wins", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(
      key,
      [mail("a", "Alert"), mail("b", "Newsletter", { category: "marketing" })],
      { category: "transactional" },
    );
    expect(w).toMatchObject({ category: "transactional", onCap: "defer" });
    await capEmail(key, { perDay: 0 });
    const e = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: w.id, contact: { email: "cat@x.test", timezone: "UTC" } },
    });
    const waiting = await settle(key, e.json.id);
    // The transactional alert went; the marketing newsletter waits for a cap of 0 (never today).
    expect(waiting).toMatchObject({ status: "waiting", currentStepId: "b" });
    await poll(
      () => outboxTo(key, "cat@x.test"),
      (o) => o.length === 1 && o[0].subject === "Alert",
    );
  });
});

describe("mailboxes: limits, pools, auto-pause", () => {
  /** Postmark answers every send with a new MessageID; other URLs (webhooks) get 200. */
  function postmark() {
    let n = 0;
    const sends: { to: string; at: number }[] = [];
    const hooks: { url: string; body: string }[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const req = new Request(input as RequestInfo, init);
      const body = await req.text();
      if (req.url === "https://api.postmarkapp.com/email") {
        sends.push({ to: JSON.parse(body).To, at: Date.now() });
        return new Response(JSON.stringify({ MessageID: `pm-${++n}` }), {
          headers: { "content-type": "application/json" },
        });
      }
      hooks.push({ url: req.url, body });
      return new Response("ok");
    });
    return { sends, hooks };
  }
  const connection = async (key: string, k: string, limits: object | null = null) => {
    const res = await call("POST", "/v1/connections", {
      key,
      body: {
        provider: "postmark",
        key: k,
        credentials: { serverToken: "t", webhookUsername: "u", webhookPassword: "p" },
        limits,
      },
    });
    expect(res.status).toBe(201);
    return res.json.id as string;
  };
  const messagesOf = async (key: string, workflowId: string) => {
    const rows = await DB.prepare(
      "select id, status, connection_id as connectionId, next_attempt_at as nextAttemptAt, sent_at as sentAt, enrollment_id as enrollmentId, to_address as toAddress from messages where workflow_id = ? order by created_at",
    )
      .bind(workflowId)
      .all<{
        id: string;
        status: string;
        connectionId: string | null;
        nextAttemptAt: number;
        sentAt: number | null;
        enrollmentId: string;
        toAddress: string;
      }>();
    void key;
    return rows.results;
  };

  it("perDay 3 with a minimum gap spreads 10 sends: 3 today, a gap apart, then 3 a day from midnight", async () => {
    const { key } = await newOrg();
    const { sends } = postmark();
    const cxn = await connection(key, "slow", { perDay: 3, minGapSeconds: 1, timezone: "UTC" });
    const w = await activeWorkflow(key, [mail("m", "Hello", { connectionId: cxn })]);
    const bulk = await call("POST", "/v1/enrollments/bulk", {
      key,
      body: {
        workflowId: w.id,
        contacts: Array.from({ length: 10 }, (_, i) => ({ email: `m${i}@slow.test` })),
      },
    });
    expect(bulk.json.createdCount).toBe(10);
    await poll(
      async () => sends.length,
      (n) => n === 3,
      15_000,
    );
    // Every send has its slot: 7 wait for later days (their jobs come back at the slot, or
    // every 12 h — the longest a queue delays a message).
    const rows = await poll(
      () => messagesOf(key, w.id),
      (r) =>
        r.filter((m) => m.status === "queued" && m.nextAttemptAt > Date.now() + 60_000).length ===
        7,
    );
    const waiting = rows.filter((m) => m.status === "queued");
    expect(waiting).toHaveLength(7);
    const midnight = new Date();
    midnight.setUTCHours(24, 0, 0, 0);
    // Days after today each take 3, from their midnight on (a queue delay is capped at 12 h, so
    // the job's next look may come before its slot; the slot itself is what the mailbox keeps).
    // Tomorrow and the day after take 3 each from their midnight, a second apart; the third day
    // after today has one: its next slot is 00:00:01.
    const expected = midnight.getTime() + 2 * 86_400_000 + 1000;
    const stats = await poll(
      async () => (await call("GET", `/v1/connections/${cxn}`, { key })).json,
      (c) => Date.parse(c.stats.nextFreeAt) === expected,
    );
    expect(stats).toMatchObject({ limits: { perDay: 3 }, paused: false, stats: { today: 3 } });
    expect(sends).toHaveLength(3);
  });

  it("a pool alternates between its mailboxes and keeps each contact on its first", async () => {
    const { key } = await newOrg();
    const { sends } = postmark();
    const a = await connection(key, "a", { minGapSeconds: 600 });
    const b = await connection(key, "b", { minGapSeconds: 600 });
    const w = await activeWorkflow(
      key,
      [
        mail("first", "First"),
        { id: "wait", type: "delay", config: { amount: 1, unit: "hours" } },
        mail("second", "Second"),
      ],
      { connectionPool: [a, b] },
    );
    expect(w).toMatchObject({ connectionPool: [a, b] });
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const e = await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: w.id, contact: { email: `p${i}@pool.test` } },
      });
      ids.push(e.json.id);
      await settle(key, e.json.id);
      await poll(
        async () => sends.length,
        (n) => n === i + 1,
      );
    }
    const first = await messagesOf(key, w.id);
    expect(first.map((m) => m.connectionId)).toEqual([a, b]);
    // The second emails: each contact keeps its mailbox (and waits for its slot there).
    for (const id of ids) {
      await expireWait(id);
    }
    const all = await poll(
      () => messagesOf(key, w.id),
      (r) => r.length === 4 && r.every((m) => m.connectionId !== null),
    );
    for (const id of ids) {
      const mine = all.filter((m) => m.enrollmentId === id).map((m) => m.connectionId);
      expect(new Set(mine).size).toBe(1);
    }
  });

  it("a bounce storm pauses the connection and fires connection.paused; resume sends again", async () => {
    const { key } = await newOrg();
    const { sends, hooks } = postmark();
    const hook = await call("POST", "/v1/webhooks", {
      key,
      body: { url: "https://hooks.storm.test/x", events: ["connection.paused"] },
    });
    expect(hook.status).toBe(201);
    const cxn = await connection(key, "storm");
    const w = await activeWorkflow(key, [mail("m", "Hi", { connectionId: cxn })]);
    await call("POST", "/v1/enrollments/bulk", {
      key,
      body: {
        workflowId: w.id,
        contacts: Array.from({ length: 20 }, (_, i) => ({ email: `s${i}@storm.test` })),
      },
    });
    const sent = await poll(
      () => messagesOf(key, w.id),
      (r) => r.length === 20 && r.every((m) => m.status === "sent"),
      15_000,
    );
    const bounce = (m: { id: string }, n: number) =>
      call("POST", `/inbound/postmark/${cxn}`, {
        headers: { authorization: `Basic ${btoa("u:p")}` },
        body: {
          RecordType: "Bounce",
          Type: "HardBounce",
          ID: n,
          MessageID: `x-${n}`,
          Metadata: { nudge_message_id: m.id },
        },
      });
    expect((await bounce(sent[0], 1)).status).toBe(200);
    expect((await call("GET", `/v1/connections/${cxn}`, { key })).json.paused).toBe(false); // 1 in 20: 5 %
    await bounce(sent[1], 2);
    const paused = (await call("GET", `/v1/connections/${cxn}`, { key })).json;
    expect(paused).toMatchObject({ paused: true, stats: { sends: 20, bounceRate: 0.1 } });
    expect(paused.pausedReason).toContain("Hard-bounce rate 10.0 %");
    const delivered = await poll(
      async () => hooks.filter((h) => h.url === "https://hooks.storm.test/x"),
      (h) => h.length === 1,
    );
    expect(JSON.parse(delivered[0].body)).toMatchObject({
      type: "connection.paused",
      data: { connectionId: cxn, sends: 20, bounceRate: 0.1 },
    });
    // A new send waits while paused ...
    const e = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: w.id, contact: { email: "later@storm.test" } },
    });
    await settle(key, e.json.id);
    const held = await poll(
      async () => (await messagesOf(key, w.id)).find((m) => m.enrollmentId === e.json.id),
      (m) => m?.status === "queued" && m.nextAttemptAt > Date.now(),
    );
    expect(sends).toHaveLength(20);
    // ... and goes once resumed (its job comes back; here the watchdog's re-queue stands in).
    const resumed = await call("POST", `/v1/connections/${cxn}/resume`, { key });
    expect(resumed.json).toMatchObject({ paused: false, pausedReason: null, stats: { sends: 0 } });
    await DB.prepare("update messages set next_attempt_at = 0 where id = ?").bind(held?.id).run();
    await runWatchdog(env, testLog, Date.now() + 60_000);
    await poll(
      async () => sends.length,
      (n) => n === 21,
    );
  });
});

describe("topics, the preference page, double opt-in", () => {
  const topic = async (key: string, k: string, extra: object = {}) => {
    const res = await call("POST", "/v1/topics", {
      key,
      body: { key: k, name: `The ${k}`, ...extra },
    });
    expect(res.status).toBe(201);
    return res.json;
  };
  const linkIn = (text: string, kind: string) => {
    const m = new RegExp(`https://nudge\\.test/t/${kind}/([\\w.-]+)`).exec(text);
    if (!m) {
      throw new Error(`no /t/${kind}/ link in ${text.slice(0, 300)}`);
    }
    return m[1];
  };

  it("topics: create (key unique), list, rename, delete; another org's is not found", async () => {
    const { key } = await newOrg();
    const t = await topic(key, "newsletter", { defaultSubscribed: false });
    expect(t).toMatchObject({
      key: "newsletter",
      name: "The newsletter",
      defaultSubscribed: false,
    });
    expectError(
      await call("POST", "/v1/topics", { key, body: { key: "newsletter", name: "x" } }),
      409,
      "conflict",
    );
    expect((await call("GET", "/v1/topics", { key })).json.data).toHaveLength(1);
    expect(
      (await call("PATCH", `/v1/topics/${t.id}`, { key, body: { name: "News" } })).json.name,
    ).toBe("News");
    const other = await newOrg("Other");
    expectError(await call("GET", `/v1/topics/${t.id}`, { key: other.key }), 404, "not_found");
    expect((await call("DELETE", `/v1/topics/${t.id}`, { key })).status).toBe(204);
    expectError(await call("GET", `/v1/topics/${t.id}`, { key }), 404, "not_found");
  });

  it("a topic's one-click unsubscribe stops that topic only; the preference page reads nothing to open", async () => {
    const { key } = await newOrg();
    await topic(key, "newsletter");
    await topic(key, "product");
    await call("PATCH", "/v1/account", {
      key,
      body: { branding: { name: "Acme Mail", accentColor: "#3b5bdb" } },
    });
    const news = await activeWorkflow(
      key,
      [
        mail("n", "News", {
          topic: "newsletter",
          html: '<p>News <a href="{{ preferences_url }}">Preferences</a></p>',
        }),
      ],
      { allowReentry: true },
    );
    const product = await activeWorkflow(key, [mail("p", "Product", { topic: "product" })], {
      allowReentry: true,
    });
    const e = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: news.id, contact: { email: "topics@x.test" } },
    });
    await settle(key, e.json.id);
    const [sent] = await poll(
      () => outboxTo(key, "topics@x.test"),
      (o) => o.length === 1,
    );
    // The preference page opens without a database read ...
    const prefs = linkIn(JSON.stringify(sent), "p");
    const prepare = vi.spyOn(DB, "prepare");
    const pageRes = await call("GET", `/t/p/${prefs}`);
    expect(prepare).not.toHaveBeenCalled();
    prepare.mockRestore();
    expect(pageRes.status).toBe(200);
    expect(pageRes.text).toContain("Acme Mail");
    expect(pageRes.text).toContain("#3b5bdb");
    expect(pageRes.text).toContain('value="newsletter" checked');
    // ... and the email's one-click unsubscribe stops the newsletter only.
    const unsub = linkIn(sent.headers["List-Unsubscribe"], "u");
    const one = await call("POST", `/t/u/${unsub}`, {
      raw: "List-Unsubscribe=One-Click",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(one.status).toBe(200);
    const contact = await poll(
      async () => (await call("GET", `/v1/contacts/${e.json.contactId}`, { key })).json,
      (c) => c.topics.newsletter === false,
    );
    expect(contact.subscribed).toBe(true);
    const again = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: news.id, contactId: contact.id },
    });
    const skipped = await settle(key, again.json.id);
    expect(skipped.timeline.find((l: { outcome?: string }) => l.outcome)).toMatchObject({
      outcome: "suppressed",
      message: 'Not sent: the contact is not subscribed to topic "newsletter"',
    });
    const p = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: product.id, contactId: contact.id },
    });
    await settle(key, p.json.id);
    await poll(
      () => outboxTo(key, "topics@x.test"),
      (o) => o.some((m) => m.subject === "Product"),
    );
    // Saving the page: product off, unsubscribe from everything on.
    const saved = await call("POST", `/t/p/${prefs}`, {
      raw: "topic=newsletter&all=on",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(saved.status).toBe(200);
    expect(saved.text).toContain("unsubscribed from all");
    expect((await call("GET", `/v1/contacts/${contact.id}`, { key })).json).toMatchObject({
      subscribed: false,
      topics: { newsletter: true, product: false },
    });
  });

  it("double opt-in: pending gets only the confirmation; the link confirms and triggers a workflow", async () => {
    const { key } = await newOrg();
    const welcome = await activeWorkflow(key, [mail("w", "Welcome, confirmed")], {
      trigger: { type: "event", event: "contact.confirmed" },
    });
    const promo = await activeWorkflow(key, [mail("p", "Promo")]);
    const res = await call("POST", "/v1/contacts", {
      key,
      body: { email: "optin@x.test", firstName: "Olive", doubleOptIn: true },
    });
    expect(res.status).toBe(201);
    expect(res.json.consent).toBe("pending");
    const [confirmation] = await poll(
      () => outboxTo(key, "optin@x.test"),
      (o) => o.length === 1,
    );
    expect(confirmation.subject).toBe("Please confirm your subscription");
    // Pending: nothing else reaches it.
    const e = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: promo.id, contactId: res.json.id },
    });
    const done = await settle(key, e.json.id);
    expect(done.timeline.find((l: { outcome?: string }) => l.outcome)).toMatchObject({
      outcome: "suppressed",
    });
    const token = linkIn(JSON.stringify(confirmation), "s");
    const pageRes = await call("GET", `/t/s/${token}`);
    expect(pageRes.status).toBe(200);
    expect((await call("GET", `/v1/contacts/${res.json.id}`, { key })).json.consent).toBe(
      "pending",
    );
    expect(
      (
        await call("POST", `/t/s/${token}`, {
          raw: "",
          headers: { "content-type": "application/x-www-form-urlencoded" },
        })
      ).status,
    ).toBe(200);
    expect((await call("GET", `/v1/contacts/${res.json.id}`, { key })).json.consent).toBe(
      "confirmed",
    );
    await poll(
      () => outboxTo(key, "optin@x.test"),
      (o) => o.some((m) => m.subject === "Welcome, confirmed"),
    );
    expect(
      (await call("GET", `/v1/enrollments?workflowId=${welcome.id}`, { key })).json.data,
    ).toHaveLength(1);
  });
});
