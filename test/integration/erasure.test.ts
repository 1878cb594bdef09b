import { is } from "drizzle-orm";
import { getTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PERSONAL_DATA } from "../../src/db/personal-data";
import * as schema from "../../src/db/schema";
import { activeWorkflow, call, newOrg, poll } from "../helpers/api";
import { DB } from "../helpers/db";
import { settle } from "../helpers/enrollments";

afterEach(() => vi.restoreAllMocks());

const tables = Object.entries(schema).flatMap(([name, v]) =>
  is(v, SQLiteTable) ? [{ name, config: getTableConfig(v) }] : [],
);

/** Every user table of the D1 database (migrations applied), by its SQL name. */
async function databaseTables() {
  const rows = await DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'd1_%'",
  ).all<{ name: string }>();
  return rows.results.map((r) => r.name);
}

describe("the personal-data declaration", () => {
  it("declares every table of the schema and no other, and erases every table with a contact_id", () => {
    const declared = PERSONAL_DATA as Record<string, { erased: string } | { none: string }>;
    expect(Object.keys(declared).sort()).toEqual(tables.map((t) => t.name).sort());
    const withContactId = tables.filter((t) =>
      t.config.columns.some((c) => c.name === "contact_id"),
    );
    expect(withContactId.length).toBeGreaterThan(0);
    for (const t of withContactId) {
      expect("erased" in declared[t.name], `${t.name} has a contact_id column`).toBe(true);
    }
  });

  it("covers every table the migrations create", async () => {
    const names = new Set(tables.map((t) => t.config.name));
    for (const table of await databaseTables()) {
      expect(names.has(table), `${table} is in the database but not in src/db/schema.ts`).toBe(
        true,
      );
    }
  });
});

describe("DELETE /v1/contacts/{id}", () => {
  it("leaves none of the contact's data in any table", async () => {
    const { key, orgId } = await newOrg();
    const u = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
    const digits = String(Math.floor(Math.random() * 1e6)).padStart(6, "0");
    const email = `erase-${u}@x.co`;
    const phone = `+4479111${digits.slice(0, 5)}`;
    const firstName = `Fn${u}`;
    const secret = `s3cr3t${u}`;
    const personal = new RegExp([u, phone.slice(1), `erase-${u}`].join("|"), "i");

    await call("POST", "/v1/webhooks", {
      key,
      body: { url: "https://hooks.test/all", events: ["*"] },
    });
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const req = new Request(input as RequestInfo, init);
      const body = await req.text();
      if (req.url.startsWith("https://code.test/echo")) {
        const { input: given } = JSON.parse(body) as { input: Record<string, unknown> };
        return Response.json({ echo: given });
      }
      if (req.url.startsWith("https://code.test/chatty")) {
        return new Response(`Hello ${firstName}, not JSON`);
      }
      if (req.url.startsWith("https://llm.test")) {
        return Response.json({
          model: "gpt-4o-mini",
          choices: [{ message: { content: JSON.stringify({ about: `${firstName} ${secret}` }) } }],
          usage: { prompt_tokens: 10, completion_tokens: 5 },
        });
      }
      return new Response("ok");
    });

    const c = await call("POST", "/v1/contacts", {
      key,
      body: {
        email,
        phone,
        firstName,
        lastName: `Ln${u}`,
        externalId: `ext-${u}`,
        data: { secret },
      },
    });
    expect(c.status, c.text).toBe(201);
    const contactId = c.json.id as string;
    await call("POST", "/v1/events?wait=true", {
      key,
      body: { name: "visited", contactId, data: { email, secret } },
    });

    // A workflow: an email and a task rendered from the contact, then a wait.
    const w = await activeWorkflow(key, [
      {
        id: "m",
        type: "send_email",
        config: { subject: "Hello {{ contact.firstName }}", html: "<p>{{ contact.email }}</p>" },
      },
      {
        id: "t",
        type: "task",
        config: {
          taskType: "call",
          title: "Call {{ contact.firstName }}",
          instructions: "About {{ contact.data.secret }}",
          dueIn: 86_400,
        },
      },
      { id: "d", type: "delay", config: { amount: 1, unit: "days" } },
    ]);
    const e = (
      await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: w.id, contactId, variables: { nick: `nick${u}` } },
      })
    ).json;
    await settle(key, e.id);
    const sent = await poll(
      async () => (await call("GET", `/v1/outbox?to=${email}`, { key })).json.data,
      (d) => d.length === 1,
    );

    // Agents: a code agent given the contact, one answering with a non-JSON greeting, a model
    // asked about the contact, and a score.
    const agent = async (body: Record<string, unknown>) => {
      const res = await call("POST", "/v1/agents", { key, body });
      expect(res.status, res.text).toBe(201);
      return res.json.id as string;
    };
    const runs: [string, string][] = [];
    const echo = await agent({ name: "Echo", type: "code", endpoint: "https://code.test/echo" });
    runs.push([
      echo,
      (
        await call("POST", `/v1/agents/${echo}/execute`, {
          key,
          body: { input: { email, secret } },
        })
      ).json.id,
    ]);
    const chatty = await agent({
      name: "Chatty",
      type: "code",
      endpoint: "https://code.test/chatty",
    });
    runs.push([
      chatty,
      (await call("POST", `/v1/agents/${chatty}/execute`, { key, body: { input: { phone } } })).json
        .id,
    ]);
    expect(
      (
        await call("POST", "/v1/connections", {
          key,
          body: {
            provider: "openai",
            credentials: { apiKey: "sk-test", baseUrl: "https://llm.test/v1" },
          },
        })
      ).status,
    ).toBe(201);
    const t = await call("POST", "/v1/agent-templates", {
      key,
      body: {
        name: "About",
        prompt: "Tell me about {{ input.email }}",
        outputSchema: { type: "object", properties: { about: { type: "string" } } },
      },
    });
    expect(t.status, t.text).toBe(201);
    const model = await agent({ name: "Model", type: "template", templateId: t.json.id });
    runs.push([
      model,
      (await call("POST", `/v1/agents/${model}/execute`, { key, body: { input: { email } } })).json
        .id,
    ]);
    const scorer = await agent({
      name: "Scorer",
      type: "code",
      endpoint: "https://code.test/never",
      configuration: { "score.base": 5, "score.field.data.secret": 10 },
    });
    const scored = await call("POST", `/v1/agents/${scorer}/score_lead`, {
      key,
      body: { contactId },
    });
    expect(scored.status, scored.text).toBe(200);
    for (const [agentId, id] of runs) {
      await poll(
        async () => (await call("GET", `/v1/agents/${agentId}/executions/${id}`, { key })).json,
        (x) => x.status === "succeeded" || x.status === "failed",
      );
    }

    // Mail back from the contact: a reply matched to its message, and one matched to nothing.
    const message = await DB.prepare("SELECT id FROM messages WHERE contact_id = ?")
      .bind(contactId)
      .first<{ id: string }>();
    const mail = DB.prepare(
      `INSERT INTO inbound_mail (id, org_id, message_id, via, match, kind, from_address, to_address, subject, text, reason, received_at)
       VALUES (?, ?, ?, 'email_routing', ?, ?, ?, 'reply@nudge.test', ?, ?, ?, ?)`,
    );
    await DB.batch([
      mail.bind(
        `inm_${crypto.randomUUID()}`,
        orgId,
        message?.id,
        "header",
        "reply",
        email,
        `Re: Hello ${firstName}`,
        `Thanks, ${firstName}`,
        null,
        Date.now(),
      ),
      mail.bind(
        `inm_${crypto.randomUUID()}`,
        null,
        null,
        "none",
        "unmatched",
        email,
        "Hi",
        `From ${firstName}`,
        `no message to ${email}`,
        Date.now(),
      ),
    ]);

    // Everything has arrived: the copies the test means to see erased are there first.
    const tableNames = await databaseTables();
    const holding = async () => {
      const found: string[] = [];
      for (const table of tableNames) {
        const rows = await DB.prepare(`SELECT * FROM "${table}"`).all();
        if (personal.test(JSON.stringify(rows.results))) {
          found.push(table);
        }
      }
      return found.sort();
    };
    await poll(holding, (found) =>
      [
        "agent_exchanges",
        "agent_executions",
        "agent_logs",
        "contacts",
        "enrollments",
        "events",
        "inbound_mail",
        "messages",
        "outbox",
        "tasks",
        "webhook_deliveries",
      ].every((tbl) => found.includes(tbl)),
    );
    // Deliveries of agent events about the contact carry what it said (fanned out by a queue).
    const typesHolding = async () => {
      const deliveries = await DB.prepare(
        "SELECT event_type, payload FROM webhook_deliveries WHERE org_id = ?",
      )
        .bind(orgId)
        .all<{ event_type: string; payload: string }>();
      return new Set(
        deliveries.results.filter((d) => personal.test(d.payload)).map((d) => d.event_type),
      );
    };
    const types = await poll(typesHolding, (found) =>
      ["agent.execution.succeeded", "agent.execution.failed"].every((type) => found.has(type)),
    );
    expect([...types]).toEqual(
      expect.arrayContaining(["agent.execution.succeeded", "agent.execution.failed"]),
    );
    expect(sent).toHaveLength(1);

    expect((await call("DELETE", `/v1/contacts/${contactId}`, { key })).status).toBe(204);

    // No table of the database holds anything of the contact's any more.
    expect(await holding()).toEqual([]);
    // What remains is ids, status and timing: the deliveries still parse and name what they did.
    const after = await DB.prepare(
      "SELECT event_type, payload FROM webhook_deliveries WHERE org_id = ? AND event_type = 'agent.execution.failed'",
    )
      .bind(orgId)
      .first<{ event_type: string; payload: string }>();
    expect(JSON.parse(after?.payload ?? "{}").data).toMatchObject({
      agentId: chatty,
      status: "failed",
      error: { code: "endpoint_invalid_response", message: "(erased)" },
    });
    // The score and its reasons (drawn from the contact's data) are gone from contact.scored.
    const score = await DB.prepare(
      "SELECT payload FROM webhook_deliveries WHERE org_id = ? AND event_type = 'contact.scored'",
    )
      .bind(orgId)
      .first<{ payload: string }>();
    expect(JSON.parse(score?.payload ?? "{}").data).toEqual({
      contactId,
      agentId: scorer,
      executionId: scored.json.executionId,
    });
    const run = await call("GET", `/v1/agents/${echo}/executions/${runs[0][1]}`, { key });
    expect(run.json).toMatchObject({ status: "succeeded", input: {}, output: null });
  });
});
