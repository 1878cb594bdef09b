// Every MCP tool the README lists, driven over POST /mcp by the MCP client SDK, with its
// answer checked exactly: a tool is the REST operation called with the caller's key, so its
// text is that operation's JSON (the same ids, statuses and fields a REST call returns).
import { exports } from "cloudflare:workers";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { describe, expect, it } from "vitest";
import { call, newOrg, poll } from "../helpers/api";
import { sentEmail } from "../helpers/edge";

const BASE = "https://nudge.test";

async function mcpClient(key: string) {
  const client = new Client({ name: "nudge-tools-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${BASE}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
    fetch: (input, init) => exports.default.fetch(new Request(input, init)),
  });
  await client.connect(transport);
  return client;
}

/** Calls a tool and returns its JSON answer, failing on a tool error with its text. */
async function tool(client: Client, name: string, args: Record<string, unknown> = {}) {
  const r = (await client.callTool({ name, arguments: args })) as {
    isError?: boolean;
    content: { type: string; text: string }[];
  };
  expect(r.isError, `${name}: ${r.content[0]?.text}`).toBeFalsy();
  expect(r.content).toHaveLength(1);
  expect(r.content[0].type).toBe("text");
  return JSON.parse(r.content[0].text);
}

const LOG_STEPS = [{ id: "hello", type: "log", config: { message: "hi {{ contact.email }}" } }];

async function setup() {
  const { key } = await newOrg();
  const client = await mcpClient(key);
  return { key, client };
}

async function restWorkflow(key: string, status?: "active") {
  const res = await call("POST", "/v1/workflows", {
    key,
    body: { name: "Welcome", ...(status ? { status } : {}), steps: LOG_STEPS },
  });
  expect(res.status).toBe(201);
  return res.json;
}

async function completedEnrollment(key: string, workflowId: string, email: string) {
  const res = await call("POST", "/v1/enrollments", {
    key,
    body: { workflowId, contact: { email } },
  });
  expect(res.status).toBe(201);
  await poll(
    async () => (await call("GET", `/v1/enrollments/${res.json.id}`, { key })).json.status,
    (s) => s === "completed",
  );
  return res.json;
}

describe("each MCP tool answers with the REST operation's exact result", () => {
  it("list_workflows: the org's workflows, as GET /v1/workflows lists them", async () => {
    const { key, client } = await setup();
    const a = await restWorkflow(key);
    const b = await restWorkflow(key, "active");
    const listed = await tool(client, "list_workflows", { limit: 10 });
    expect(listed).toEqual((await call("GET", "/v1/workflows?limit=10", { key })).json);
    expect(listed.data.map((w: { id: string; status: string }) => [w.id, w.status])).toEqual([
      [b.id, "active"],
      [a.id, "draft"],
    ]);
    await client.close();
  });

  it("get_workflow: one workflow with its steps", async () => {
    const { key, client } = await setup();
    const wf = await restWorkflow(key);
    const got = await tool(client, "get_workflow", { id: wf.id });
    expect(got).toEqual((await call("GET", `/v1/workflows/${wf.id}`, { key })).json);
    expect(got).toMatchObject({ id: wf.id, name: "Welcome", status: "draft" });
    expect(got.steps.map((s: { id: string; type: string }) => [s.id, s.type])).toEqual([
      ["hello", "log"],
    ]);
    await client.close();
  });

  it("create_workflow: a draft stored as given, its settings merged in", async () => {
    const { key, client } = await setup();
    const created = await tool(client, "create_workflow", {
      name: "Onboarding",
      trigger: { type: "event", event: "signed_up" },
      steps: LOG_STEPS,
      settings: { allowReentry: true },
    });
    expect(created.id).toMatch(/^wf_/);
    expect(created).toMatchObject({
      name: "Onboarding",
      status: "draft",
      trigger: { type: "event", event: "signed_up" },
      allowReentry: true,
    });
    expect(created).toEqual((await call("GET", `/v1/workflows/${created.id}`, { key })).json);
    await client.close();
  });

  it("test_workflow: the dry-run trace POST /v1/workflows/{id}/test returns, nothing stored", async () => {
    const { key, client } = await setup();
    const wf = await restWorkflow(key);
    const trace = await tool(client, "test_workflow", {
      id: wf.id,
      sampleData: { email: "ada@tools.test" },
    });
    const rest = await call("POST", `/v1/workflows/${wf.id}/test`, {
      key,
      body: { sampleData: { email: "ada@tools.test" }, variables: {} },
    });
    expect(rest.status).toBe(200);
    // Two runs differ only in when each was simulated.
    const untimed = (r: { trace: object[] }) => ({
      ...r,
      trace: r.trace.map((t) => ({ ...t, simulatedAt: "t" })),
    });
    expect(untimed(trace)).toEqual(untimed(rest.json));
    expect(
      trace.trace.map((t: { stepId: string; outcome: string; message: string }) => [
        t.stepId,
        t.outcome,
        t.message,
      ]),
    ).toEqual([["hello", "done", "hi ada@tools.test"]]);
    expect((await call("GET", "/v1/enrollments", { key })).json.data).toEqual([]);
    await client.close();
  });

  it("activate_workflow: the workflow comes back active, and stays so", async () => {
    const { key, client } = await setup();
    const wf = await restWorkflow(key);
    const active = await tool(client, "activate_workflow", { id: wf.id });
    expect(active).toMatchObject({ id: wf.id, status: "active" });
    expect(active).toEqual((await call("GET", `/v1/workflows/${wf.id}`, { key })).json);
    await client.close();
  });

  it("enroll_contact: the new enrollment, as GET /v1/enrollments/{id} has it", async () => {
    const { key, client } = await setup();
    // A day's delay first, so the enrollment is still active when it is read back.
    const wf = (
      await call("POST", "/v1/workflows", {
        key,
        body: {
          name: "Slow",
          status: "active",
          steps: [{ type: "delay", config: { amount: 1, unit: "days" } }, ...LOG_STEPS],
        },
      })
    ).json;
    const enrolled = await tool(client, "enroll_contact", {
      workflowId: wf.id,
      contact: { email: "ada@tools.test" },
    });
    expect(enrolled.id).toMatch(/^enr_/);
    expect(enrolled).toMatchObject({ workflowId: wf.id, status: "running" });
    const rest = (await call("GET", `/v1/enrollments/${enrolled.id}`, { key })).json;
    // Its status moves on its own (running, then waiting on the delay): the ids are what agree.
    expect([rest.id, rest.workflowId, rest.contactId]).toEqual([
      enrolled.id,
      wf.id,
      enrolled.contactId,
    ]);
    const contacts = (await call("GET", "/v1/contacts", { key })).json.data;
    expect(contacts.map((c: { email: string }) => c.email)).toEqual(["ada@tools.test"]);
    expect(enrolled.contactId).toBe(contacts[0].id);
    const again = await client.callTool({
      name: "enroll_contact",
      arguments: { workflowId: wf.id, contactId: contacts[0].id },
    });
    expect(again.isError).toBe(true);
    expect(JSON.parse((again.content as { text: string }[])[0].text)).toMatchObject({
      status: 409,
      error: "already_enrolled",
    });
    await client.close();
  });

  it("bulk_enroll: one result per contact, enrolled or skipped", async () => {
    const { key, client } = await setup();
    const wf = await restWorkflow(key, "active");
    const first = await completedEnrollment(key, wf.id, "one@tools.test");
    const bulk = await tool(client, "bulk_enroll", {
      workflowId: wf.id,
      contacts: [{ email: "one@tools.test" }, { email: "two@tools.test" }],
    });
    const listed = (await call("GET", `/v1/enrollments?workflowId=${wf.id}`, { key })).json.data;
    expect(listed).toHaveLength(2);
    const second = listed.find((e: { id: string }) => e.id !== first.id);
    expect(bulk.results).toHaveLength(2);
    expect(bulk.results[0]).toMatchObject({ index: 0, status: "skipped" });
    expect(bulk.results[1]).toMatchObject({
      index: 1,
      status: "enrolled",
      enrollmentId: second.id,
    });
    await client.close();
  });

  it("track_event: the stored event, and the workflow it triggers starts", async () => {
    const { key, client } = await setup();
    const wf = (
      await call("POST", "/v1/workflows", {
        key,
        body: {
          name: "On signup",
          status: "active",
          trigger: { type: "event", event: "signed_up" },
          steps: LOG_STEPS,
        },
      })
    ).json;
    const tracked = await tool(client, "track_event", {
      name: "signed_up",
      email: "ada@tools.test",
      id: "evt-1",
    });
    const enrollments = (await call("GET", `/v1/enrollments?workflowId=${wf.id}`, { key })).json
      .data;
    expect(enrollments).toHaveLength(1);
    // The tool waits for processing (?wait=true): the answer names what the event started.
    expect(tracked).toEqual({
      id: expect.stringMatching(/^evt_/),
      enrolled: [enrollments[0].id],
      resumed: [],
      exited: [],
    });
    // The same id again is processed once: a duplicate, still one enrollment.
    expect(
      await tool(client, "track_event", {
        name: "signed_up",
        email: "ada@tools.test",
        id: "evt-1",
      }),
    ).toEqual({ id: tracked.id, duplicate: true, enrolled: [], resumed: [], exited: [] });
    expect(
      (await call("GET", `/v1/enrollments?workflowId=${wf.id}`, { key })).json.data,
    ).toHaveLength(1);
    await client.close();
  });

  it("get_enrollment: the enrollment and its step log, exactly as the two GETs answer", async () => {
    const { key, client } = await setup();
    const wf = await restWorkflow(key, "active");
    const enr = await completedEnrollment(key, wf.id, "ada@tools.test");
    const [one, logs] = await tool(client, "get_enrollment", { id: enr.id });
    expect(one).toEqual((await call("GET", `/v1/enrollments/${enr.id}`, { key })).json);
    expect(one).toMatchObject({ id: enr.id, workflowId: wf.id, status: "completed" });
    expect(logs).toEqual((await call("GET", `/v1/enrollments/${enr.id}/logs`, { key })).json);
    await client.close();
  });

  it("cancel_enrollment: the enrollment comes back cancelled", async () => {
    const { key, client } = await setup();
    const wf = (
      await call("POST", "/v1/workflows", {
        key,
        body: {
          name: "Slow",
          status: "active",
          steps: [{ type: "delay", config: { amount: 1, unit: "days" } }, ...LOG_STEPS],
        },
      })
    ).json;
    const enr = (
      await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: wf.id, contact: { email: "ada@tools.test" } },
      })
    ).json;
    const cancelled = await tool(client, "cancel_enrollment", { id: enr.id });
    expect(cancelled).toMatchObject({ id: enr.id, status: "cancelled" });
    expect((await call("GET", `/v1/enrollments/${enr.id}`, { key })).json.status).toBe("cancelled");
    await client.close();
  });

  it("workflow_stats: the counts GET /v1/workflows/{id}/stats returns", async () => {
    const { key, client } = await setup();
    const wf = await restWorkflow(key, "active");
    await completedEnrollment(key, wf.id, "ada@tools.test");
    const stats = await tool(client, "workflow_stats", { id: wf.id });
    expect(stats).toEqual((await call("GET", `/v1/workflows/${wf.id}/stats`, { key })).json);
    expect(JSON.stringify(stats)).toContain('"completed":1');
    await client.close();
  });

  it("list_messages: the emails of an enrollment, as GET /v1/messages lists them", async () => {
    const sent = await sentEmail();
    const client = await mcpClient(sent.key);
    const listed = await tool(client, "list_messages", { enrollmentId: sent.enrollmentId });
    expect(listed).toEqual(
      (await call("GET", `/v1/messages?enrollmentId=${sent.enrollmentId}`, { key: sent.key })).json,
    );
    expect(listed.data).toHaveLength(1);
    expect(listed.data[0]).toMatchObject({
      enrollmentId: sent.enrollmentId,
      contactId: sent.contactId,
      subject: "Hi",
    });
    expect((await tool(client, "list_messages", { enrollmentId: "enr_none" })).data).toEqual([]);
    await client.close();
  });

  it("upsert_contact: creates, then updates the same contact by email", async () => {
    const { key, client } = await setup();
    const created = await tool(client, "upsert_contact", {
      email: "ada@tools.test",
      name: "Ada Lovelace",
    });
    expect(created.id).toMatch(/^con_/);
    expect(created).toMatchObject({
      email: "ada@tools.test",
      firstName: "Ada",
      lastName: "Lovelace",
    });
    const updated = await tool(client, "upsert_contact", {
      email: "ada@tools.test",
      data: { plan: "pro" },
    });
    expect(updated.id).toBe(created.id);
    expect(updated.data).toEqual({ plan: "pro" });
    expect(updated).toEqual((await call("GET", `/v1/contacts/${created.id}`, { key })).json);
    await client.close();
  });

  it("list_tasks and complete_task: the open task, then completed with its outcome", async () => {
    const { key, client } = await setup();
    const wf = (
      await call("POST", "/v1/workflows", {
        key,
        body: {
          name: "Tasks",
          status: "active",
          steps: [
            {
              id: "t1",
              type: "task",
              config: { taskType: "custom", title: "Check in", dueIn: 86_400 },
            },
          ],
        },
      })
    ).json;
    const enr = (
      await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: wf.id, contact: { email: "ada@tools.test" } },
      })
    ).json;
    await poll(
      async () => (await call("GET", "/v1/tasks?status=open", { key })).json.data,
      (d: unknown[]) => d.length === 1,
    );
    const open = await tool(client, "list_tasks", { status: "open", workflowId: wf.id });
    expect(open).toEqual(
      (await call("GET", `/v1/tasks?status=open&workflowId=${wf.id}`, { key })).json,
    );
    expect(open.data).toHaveLength(1);
    expect(open.data[0]).toMatchObject({ status: "open", title: "Check in", enrollmentId: enr.id });
    const done = await tool(client, "complete_task", { id: open.data[0].id, note: "done" });
    expect(done).toMatchObject({ id: open.data[0].id, status: "completed" });
    expect((await tool(client, "list_tasks", { status: "open" })).data).toEqual([]);
    await client.close();
  });

  it("search_api: the matching operations with their method and path", async () => {
    const { client } = await setup();
    const found = await tool(client, "search_api", { query: "cancel enrollment" });
    expect(
      found.find((o: { operationId: string }) => o.operationId === "cancelEnrollment"),
    ).toMatchObject({
      operationId: "cancelEnrollment",
      method: "POST",
      path: "/v1/enrollments/{id}/cancel",
    });
    await client.close();
  });

  it("call_api: any operation by operationId, with path parameters", async () => {
    const { key, client } = await setup();
    const wf = await restWorkflow(key);
    const got = await tool(client, "call_api", {
      operationId: "getWorkflow",
      pathParams: { id: wf.id },
    });
    expect(got).toEqual((await call("GET", `/v1/workflows/${wf.id}`, { key })).json);
    await client.close();
  });
});
