import { afterEach, describe, expect, it, vi } from "vitest";
import { activeWorkflow, call, expectError, newOrg, poll } from "../helpers/api";
import { DB } from "../helpers/db";
import { settle } from "../helpers/enrollments";

afterEach(() => vi.restoreAllMocks());

describe("contacts", () => {
  it("upserts by email (201 then 200) and shallow-merges data", async () => {
    const { key } = await newOrg();
    const a = await call("POST", "/v1/contacts", {
      key,
      body: { email: "Ada@Example.com", firstName: "Ada", data: { plan: "free", a: 1 } },
    });
    expect(a.status).toBe(201);
    expect(a.json).toMatchObject({
      email: "ada@example.com",
      firstName: "Ada",
      subscribed: true,
      suppressed: null,
      data: { plan: "free", a: 1 },
    });
    const b = await call("POST", "/v1/contacts", {
      key,
      body: { email: "ada@example.com", data: { plan: "pro" } },
    });
    expect(b.status).toBe(200);
    expect(b.json.id).toBe(a.json.id);
    expect(b.json.data).toEqual({ plan: "pro", a: 1 });
    expect(b.json.firstName).toBe("Ada");
  });

  it("upserts by externalId when there is no email", async () => {
    const { key } = await newOrg();
    const a = await call("POST", "/v1/contacts", {
      key,
      body: { externalId: "crm-1", phone: "+14155552671" },
    });
    expect(a.status).toBe(201);
    const b = await call("POST", "/v1/contacts", {
      key,
      body: { externalId: "crm-1", lastName: "L" },
    });
    expect(b.status).toBe(200);
    expect(b.json).toMatchObject({ id: a.json.id, phone: "+14155552671", lastName: "L" });
  });

  it.each([
    [{ email: "not-an-email" }, "email"],
    [{ email: "a@b.co", phone: "555-1234" }, "phone"],
    [{ email: "a@b.co", timezone: "Mars/Base" }, "timezone"],
    [{ email: "a@b.co", data: { big: "x".repeat(70 * 1024) } }, "data"],
    [{ firstName: "No key" }, "email"],
  ])("rejects %j naming %s", async (body, path) => {
    const { key } = await newOrg();
    const res = await call("POST", "/v1/contacts", { key, body });
    expectError(res, 422, "validation_failed");
    expect(res.json.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it("lists with filters and cursor pagination across pages", async () => {
    const { key } = await newOrg();
    for (let i = 0; i < 5; i++) {
      await call("POST", "/v1/contacts", { key, body: { email: `p${i}@x.co` } });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof call>> = await call(
        "GET",
        `/v1/contacts?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
        { key },
      );
      expect(page.status).toBe(200);
      expect(page.json.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.json.data.map((c: { email: string }) => c.email));
      cursor = page.json.nextCursor;
    } while (cursor);
    expect(seen).toEqual(["p4@x.co", "p3@x.co", "p2@x.co", "p1@x.co", "p0@x.co"]);
    const one = await call("GET", "/v1/contacts?email=P2@x.co", { key });
    expect(one.json.data.map((c: { email: string }) => c.email)).toEqual(["p2@x.co"]);
    expectError(await call("GET", "/v1/contacts?limit=0", { key }), 422, "validation_failed");
    expectError(
      await call("GET", "/v1/contacts?cursor=garbage", { key }),
      422,
      "validation_failed",
    );
  });

  it("PATCH unsubscribes and records unsubscribedAt", async () => {
    const { key } = await newOrg();
    const c = await call("POST", "/v1/contacts", { key, body: { email: "u@x.co" } });
    const p = await call("PATCH", `/v1/contacts/${c.json.id}`, {
      key,
      body: { subscribed: false },
    });
    expect(p.status).toBe(200);
    expect(p.json.subscribed).toBe(false);
    expect(p.json.unsubscribedAt).toMatch(/Z$/);
    const events = await call("GET", `/v1/contacts/${c.json.id}/events`, { key });
    expect(events.json.data.map((e: { name: string }) => e.name)).toContain("contact.unsubscribed");
  });

  it("DELETE erases personal data everywhere it was copied and leaves an anonymous tombstone", async () => {
    const { key } = await newOrg();
    const hook = await call("POST", "/v1/webhooks", {
      key,
      body: { url: "https://hooks.acme.test/erase", events: ["*"] },
    });
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("ok"));
    const c = await call("POST", "/v1/contacts", {
      key,
      body: {
        email: "gone@x.co",
        phone: "+447911123456",
        firstName: "Gone",
        lastName: "Person",
        externalId: "ext-9",
        data: { secret: "s3cr3t" },
      },
    });
    const w = await activeWorkflow(key, [
      {
        id: "m",
        type: "send_email",
        config: { subject: "Hello {{ contact.firstName }}", html: "<p>{{ contact.email }}</p>" },
      },
      { id: "l", type: "log", config: { message: "wrote to {{ contact.email }}" } },
      { id: "d", type: "delay", config: { amount: 1, unit: "days" } },
    ]);
    const e = (
      await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: w.id, contactId: c.json.id, variables: { nick: "Gonzo" } },
      })
    ).json;
    await call("POST", "/v1/events?wait=true", {
      key,
      body: { name: "visited", contactId: c.json.id, data: { email: "gone@x.co" } },
    });
    await settle(key, e.id);
    await poll(
      async () => (await call("GET", `/v1/outbox?to=gone@x.co`, { key })).json.data,
      (d) => d.length === 1,
    );
    await poll(
      async () =>
        (
          await DB.prepare(
            "SELECT count(*) AS n FROM webhook_deliveries WHERE webhook_id = ? AND event_type = 'contact.created'",
          )
            .bind(hook.json.id)
            .first<{ n: number }>()
        )?.n,
      (n) => n === 1,
    );
    expect((await call("DELETE", `/v1/contacts/${c.json.id}`, { key })).status).toBe(204);
    expectError(await call("GET", `/v1/contacts/${c.json.id}`, { key }), 404, "not_found");
    const personal = /gone@x\.co|gone%40x\.co|Gone|Person|ext-9|s3cr3t|447911123456|Gonzo/;
    const row = await DB.prepare("SELECT * FROM contacts WHERE id = ?")
      .bind(c.json.id)
      .first<Record<string, unknown>>();
    expect(row).toMatchObject({
      email: null,
      phone: null,
      first_name: null,
      last_name: null,
      external_id: null,
      data: "{}",
    });
    expect(JSON.stringify(row)).not.toMatch(personal);
    for (const [table, where, id] of [
      ["messages", "contact_id = ?", c.json.id],
      ["events", "contact_id = ?", c.json.id],
      ["enrollments", "contact_id = ?", c.json.id],
      ["outbox", "message_id IN (SELECT id FROM messages WHERE contact_id = ?)", c.json.id],
      ["webhook_deliveries", "webhook_id = ?", hook.json.id],
    ]) {
      const rows = await DB.prepare(`SELECT * FROM ${table} WHERE ${where}`).bind(id).all();
      expect(JSON.stringify(rows.results), table).not.toMatch(personal);
    }
    expect((await call("GET", "/v1/outbox", { key })).json.data).toEqual([]);
    // The enrollment object forgot too: its timeline and variables hold nothing personal.
    const detail = await call("GET", `/v1/enrollments/${e.id}`, { key });
    expect(detail.json).toMatchObject({
      status: "cancelled",
      exitReason: "contact_deleted",
      variables: {},
    });
    expect(JSON.stringify(detail.json)).not.toMatch(personal);
    // The email can be used again by a new contact.
    expect((await call("POST", "/v1/contacts", { key, body: { email: "gone@x.co" } })).status).toBe(
      201,
    );
  });

  it("keeps every route to its own org", async () => {
    const a = await newOrg("A");
    const b = await newOrg("B");
    const c = await call("POST", "/v1/contacts", { key: a.key, body: { email: "mine@x.co" } });
    for (const [method, path] of [
      ["GET", `/v1/contacts/${c.json.id}`],
      ["PATCH", `/v1/contacts/${c.json.id}`],
      ["DELETE", `/v1/contacts/${c.json.id}`],
      ["GET", `/v1/contacts/${c.json.id}/events`],
      ["GET", `/v1/contacts/${c.json.id}/enrollments`],
    ]) {
      const res = await call(method, path, {
        key: b.key,
        body: method === "PATCH" ? { firstName: "x" } : undefined,
      });
      expectError(res, 404, "not_found");
    }
    const list = await call("GET", "/v1/contacts?email=mine@x.co", { key: b.key });
    expect(list.json.data).toEqual([]);
    // A's contact is untouched by B's PATCH and DELETE.
    expect((await call("GET", `/v1/contacts/${c.json.id}`, { key: a.key })).json).toMatchObject({
      id: c.json.id,
      email: "mine@x.co",
      firstName: null,
    });
    // Same email in another org is a different contact.
    expect(
      (await call("POST", "/v1/contacts", { key: b.key, body: { email: "mine@x.co" } })).status,
    ).toBe(201);
  });
});

describe("events", () => {
  it("stores an event, upserting an unknown email, and lists it for the contact", async () => {
    const { key } = await newOrg();
    const res = await call("POST", "/v1/events", {
      key,
      body: {
        name: "signed_up",
        email: "new@x.co",
        data: { plan: "pro" },
        occurredAt: "2026-11-01T10:00:00Z",
      },
    });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ id: expect.stringMatching(/^evt_/) });
    const contact = (await call("GET", "/v1/contacts?email=new@x.co", { key })).json.data[0];
    const events = await call("GET", `/v1/contacts/${contact.id}/events`, { key });
    expect(events.json.data[0]).toMatchObject({
      name: "signed_up",
      data: { plan: "pro" },
      occurredAt: "2026-11-01T10:00:00.000Z",
    });
  });

  it("honours Idempotency-Key", async () => {
    const { key } = await newOrg();
    const body = { name: "clicked", email: "i@x.co" };
    const a = await call("POST", "/v1/events", {
      key,
      body,
      headers: { "idempotency-key": "ev-1" },
    });
    const b = await call("POST", "/v1/events", {
      key,
      body,
      headers: { "idempotency-key": "ev-1" },
    });
    expect(b.json.id).toBe(a.json.id);
    expect(b.headers.get("idempotent-replayed")).toBe("true");
  });

  it("refuses an event without a contact reference, or another org's contact", async () => {
    const a = await newOrg("A");
    const b = await newOrg("B");
    expectError(
      await call("POST", "/v1/events", { key: a.key, body: { name: "x" } }),
      422,
      "validation_failed",
    );
    const c = await call("POST", "/v1/contacts", { key: a.key, body: { email: "a@x.co" } });
    expectError(
      await call("POST", "/v1/events", { key: b.key, body: { name: "x", contactId: c.json.id } }),
      404,
      "not_found",
    );
  });
});

describe("templates", () => {
  it("creates, reads, updates, deletes", async () => {
    const { key } = await newOrg();
    const t = await call("POST", "/v1/templates", {
      key,
      body: { name: "Welcome", subject: "Hi {{ contact.firstName }}", html: "<p>Hi</p>" },
    });
    expect(t.status).toBe(201);
    expect(t.json.id).toMatch(/^tpl_/);
    const p = await call("PATCH", `/v1/templates/${t.json.id}`, {
      key,
      body: { subject: "Hello" },
    });
    expect(p.json.subject).toBe("Hello");
    expect((await call("GET", "/v1/templates", { key })).json.data).toHaveLength(1);
    expect((await call("DELETE", `/v1/templates/${t.json.id}`, { key })).status).toBe(204);
    expectError(await call("GET", `/v1/templates/${t.json.id}`, { key }), 404, "not_found");
  });

  it("refuses a Liquid syntax error at save, naming the line", async () => {
    const { key } = await newOrg();
    const res = await call("POST", "/v1/templates", {
      key,
      body: {
        name: "Bad",
        subject: "ok",
        html: "<p>one</p>\n<p>two</p>\n{% if contact.firstName %}unclosed",
      },
    });
    expectError(res, 422, "validation_failed");
    expect(res.json.message).toMatch(/line 3/);
    expect(res.json.details[0].path).toBe("html");
  });

  it("refuses an unknown filter", async () => {
    const { key } = await newOrg();
    const res = await call("POST", "/v1/templates", {
      key,
      body: { name: "Bad", subject: "{{ contact.firstName | shout }}", html: "<p>x</p>" },
    });
    expectError(res, 422, "validation_failed");
    expect(res.json.message).toMatch(/shout/);
  });

  it("previews with vars and defaults; escapes variables in html but not in text", async () => {
    const { key } = await newOrg();
    const t = await call("POST", "/v1/templates", {
      key,
      body: {
        name: "P",
        subject: 'Hi {{ contact.firstName | default: "there" }}',
        html: "<p>{{ contact.firstName }} — {{ vars.hook }}</p>",
        text: "{{ contact.firstName }} / {{ vars.hook }}",
      },
    });
    const plain = await call("POST", `/v1/templates/${t.json.id}/preview`, {
      key,
      body: { vars: { hook: "your Series A" } },
    });
    expect(plain.json.subject).toBe("Hi there");
    expect(plain.json.html).toContain("your Series A");
    const xss = await call("POST", `/v1/templates/${t.json.id}/preview`, {
      key,
      body: { contact: { firstName: "<script>alert(1)</script>" }, vars: { hook: "a & b" } },
    });
    expect(xss.json.html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(xss.json.html).not.toContain("<script>");
    expect(xss.json.text).toBe("<script>alert(1)</script> / a & b");
    expect(xss.json.subject).toBe("Hi <script>alert(1)</script>");
  });

  it("keeps templates to their org", async () => {
    const a = await newOrg("A");
    const b = await newOrg("B");
    const t = await call("POST", "/v1/templates", {
      key: a.key,
      body: { name: "T", subject: "s", html: "h" },
    });
    expectError(await call("GET", `/v1/templates/${t.json.id}`, { key: b.key }), 404, "not_found");
    expectError(
      await call("POST", `/v1/templates/${t.json.id}/preview`, { key: b.key, body: {} }),
      404,
      "not_found",
    );
    expectError(
      await call("PATCH", `/v1/templates/${t.json.id}`, { key: b.key, body: { name: "B's now" } }),
      404,
      "not_found",
    );
    expectError(
      await call("DELETE", `/v1/templates/${t.json.id}`, { key: b.key }),
      404,
      "not_found",
    );
    expect((await call("GET", `/v1/templates/${t.json.id}`, { key: a.key })).json).toMatchObject({
      id: t.json.id,
      name: "T",
    });
  });
});
