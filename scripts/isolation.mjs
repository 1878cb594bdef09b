#!/usr/bin/env node
// npm run test:isolation — org B's key against org A's resources, for every operation with a
// path id in /openapi.json, and with A's ids inside B's query strings and bodies. Each check
// has a same-org control: A's key on the same request must succeed, so a 404 can only mean
// "not yours". Every operation is given a fresh resource and a valid body (the answer can only
// depend on who owns the id); fails when the document lists an operation the harness does not
// check, on any answer other than 404 for B, on any change B made to A's resource (every
// resource, read once A's own background work on it has settled), on any of A's data in B's
// answers — and, at the end, in every list B can read and in every report file B can export.
import { adminToken, client, sleep, startLocal, tempState } from "./lib/local.mjs";

const PORT = Number(process.env.ISOLATION_PORT ?? 8794);
const stateDir = tempState("nudge-isolation-");
const server = await startLocal({ port: PORT, stateDir });
const failures = [];
let checked = 0;
let n = 0;
/** An email of A's; every one is among the secrets B must never see. */
let secretEmail;
const uniq = (label) => {
  const email = `${label}-${++n}-a@example.test`;
  secretEmail?.(email);
  return email;
};

try {
  const admin = client(server.base, adminToken(stateDir));
  const orgA = (await admin("POST", "/v1/admin/orgs", { name: "Org A" })).json;
  const orgB = (await admin("POST", "/v1/admin/orgs", { name: "Org B" })).json;
  const a = client(server.base, orgA.apiKey.key);
  const b = client(server.base, orgB.apiKey.key);
  const secrets = new Set([
    orgA.org.id,
    "secret-a@example.test",
    "Alice",
    "a-token",
    "hooks.a.example",
  ]);
  secretEmail = (email) => secrets.add(email);
  const made = async (res, status, what) => {
    if (res.status !== status) {
      throw new Error(`setting up ${what}: ${res.status} ${res.text.slice(0, 200)}`);
    }
    if (res.json?.id) {
      secrets.add(res.json.id);
    }
    return res.json;
  };

  const template = async () =>
    made(
      await a("POST", "/v1/templates", { name: "A template", subject: "A", html: "<p>A</p>" }),
      201,
      "template",
    );
  const workflow = async () => {
    const t = await template();
    const w = await made(
      await a("POST", "/v1/workflows", {
        name: "A flow",
        status: "active",
        steps: [
          { id: "a_send", type: "send_email", config: { templateId: t.id } },
          { id: "a_wait", type: "delay", config: { amount: 1, unit: "days" } },
        ],
        // Two links, so either may be deleted and the graph stays whole.
        transitions: [
          { id: "a_link", from: "a_send", to: "a_wait" },
          { id: "a_spare", from: "a_send", to: "a_wait" },
        ],
      }),
      201,
      "workflow",
    );
    return { id: w.id, stepId: "a_wait", transitionId: "a_spare" };
  };
  const contact = async () =>
    made(await a("POST", "/v1/contacts", { email: uniq("c"), firstName: "Alice" }), 201, "contact");
  const enrollment = async () => {
    const w = await workflow();
    return made(
      await a("POST", "/v1/enrollments", {
        workflowId: w.id,
        contact: { email: uniq("e"), firstName: "Alice" },
      }),
      201,
      "enrollment",
    );
  };
  const make = {
    "api-keys": async () =>
      made(await a("POST", "/v1/api-keys", { name: "A key" }), 201, "api key"),
    contacts: contact,
    templates: template,
    workflows: workflow,
    enrollments: enrollment,
    imports: async () =>
      made(await a("POST", "/v1/imports", { contacts: [{ email: uniq("i") }] }), 202, "import"),
    connections: async () =>
      made(
        await a("POST", "/v1/connections", {
          provider: "postmark",
          key: `a-${++n}`,
          credentials: { serverToken: "a-token" },
        }),
        201,
        "connection",
      ),
    webhooks: async () =>
      made(
        await a("POST", "/v1/webhooks", { url: `https://hooks.a.example/${++n}`, events: ["*"] }),
        201,
        "webhook",
      ),
  };

  // One email of A's, for the read-only message and outbox operations.
  const sent = await enrollment();
  let message;
  let outbox;
  for (let i = 0; i < 100 && !outbox; i++) {
    message = (await a("GET", `/v1/messages?enrollmentId=${sent.id}`)).json.data[0];
    if (message) {
      outbox = (await a("GET", `/v1/outbox?messageId=${message.id}`)).json.data[0];
    }
    if (!outbox) {
      await sleep(100);
    }
  }
  for (const x of [message?.id, outbox?.id]) {
    if (x) {
      secrets.add(x);
    }
  }
  make.reports = async () => {
    const r = await made(
      await a("POST", "/v1/reports", { type: "contacts_export" }),
      202,
      "report",
    );
    for (let i = 0; i < 100; i++) {
      if ((await a("GET", `/v1/reports/${r.id}`)).json.status === "completed") {
        break;
      }
      await sleep(100);
    }
    return r;
  };
  make.messages = async () => ({ id: message?.id });
  // A call of A's in the outbox (its outcome is what B must not record).
  const callFlow = await made(
    await a("POST", "/v1/workflows", {
      name: "A calls",
      status: "active",
      steps: [{ type: "call", config: { script: "Hello from A" } }],
    }),
    201,
    "call workflow",
  );
  const callPhone = `+1415555${String(1000 + (Date.now() % 9000)).slice(-4)}`;
  await made(
    await a("POST", "/v1/enrollments", {
      workflowId: callFlow.id,
      contact: { phone: callPhone, firstName: "Alice" },
      bypassCallWindow: true,
    }),
    201,
    "call enrollment",
  );
  let callItem;
  for (let i = 0; i < 100 && !callItem; i++) {
    callItem = (await a("GET", `/v1/outbox?channel=call&to=${encodeURIComponent(callPhone)}`)).json
      .data[0];
    if (!callItem) {
      await sleep(100);
    }
  }
  if (callItem) {
    secrets.add(callItem.id);
  }
  make.outbox = async () => ({ id: callItem?.id });
  make.topics = async () =>
    made(await a("POST", "/v1/topics", { key: `a-topic-${++n}`, name: "A's topic" }), 201, "topic");
  // A task of A's, a fresh open one each time (completing and skipping close it).
  const taskFlow = await made(
    await a("POST", "/v1/workflows", {
      name: "A tasks",
      status: "active",
      steps: [{ type: "task", config: { taskType: "custom", title: "A's task", dueIn: 86400 } }],
    }),
    201,
    "task workflow",
  );
  make.tasks = async () => {
    const e = await made(
      await a("POST", "/v1/enrollments", {
        workflowId: taskFlow.id,
        contact: { email: uniq("t"), firstName: "Alice" },
      }),
      201,
      "task enrollment",
    );
    for (let i = 0; i < 100; i++) {
      const t = (await a("GET", "/v1/tasks?status=open")).json.data.find(
        (x) => x.enrollmentId === e.id,
      );
      if (t) {
        secrets.add(t.id);
        return t;
      }
      await sleep(100);
    }
    return {};
  };

  // An agent of A's (a template agent: A has no LLM connection, so inference answers 422
  // no_llm_connection — past the ownership check), with one execution and a contact to score.
  make["agent-templates"] = async () =>
    made(
      await a("POST", "/v1/agent-templates", {
        name: "A's prompt",
        prompt: "Hello {{ input.name }}",
        outputSchema: { type: "object" },
      }),
      201,
      "agent template",
    );
  make.agents = async () => {
    const t = await make["agent-templates"]();
    const agent = await made(
      await a("POST", "/v1/agents", {
        name: `A's agent ${++n}`,
        type: "template",
        templateId: t.id,
      }),
      201,
      "agent",
    );
    const x = await made(
      await a("POST", `/v1/agents/${agent.id}/execute`, { input: { name: "Alice" } }),
      202,
      "execution",
    );
    const c = await contact();
    return { id: agent.id, executionId: x.id, contactId: c.id };
  };
  make.monitoring = make.agents;

  // Every operation with a path id: the resource it needs, a valid body, and what A gets back.
  const SPECS = {
    "GET /v1/api-keys/{id}": { ok: 200 },
    "POST /v1/api-keys/{id}/revoke": { ok: 200 },
    "GET /v1/contacts/{id}": { ok: 200 },
    "PATCH /v1/contacts/{id}": { body: { firstName: "Mallory" }, ok: 200 },
    "DELETE /v1/contacts/{id}": { ok: 204 },
    "GET /v1/contacts/{id}/events": { ok: 200 },
    "GET /v1/contacts/{id}/enrollments": { ok: 200 },
    "GET /v1/templates/{id}": { ok: 200 },
    "PATCH /v1/templates/{id}": { body: { name: "Mallory's" }, ok: 200 },
    "DELETE /v1/templates/{id}": { ok: 204 },
    "POST /v1/templates/{id}/preview": { body: { vars: { x: 1 } }, ok: 200 },
    "GET /v1/workflows/{id}": { ok: 200 },
    "PATCH /v1/workflows/{id}": { body: { name: "Mallory's" }, ok: 200 },
    "DELETE /v1/workflows/{id}": { ok: 204 },
    "POST /v1/workflows/{id}/steps": {
      body: { type: "log", config: { message: "Mallory" }, autoConnect: true },
      ok: 201,
    },
    "PATCH /v1/workflows/{id}/steps/{stepId}": { body: { name: "Mallory's" }, ok: 200 },
    "DELETE /v1/workflows/{id}/steps/{stepId}": { ok: 204 },
    "POST /v1/workflows/{id}/transitions": { body: { from: "a_send", to: "a_wait" }, ok: 201 },
    "DELETE /v1/workflows/{id}/transitions/{transitionId}": { ok: 204 },
    "GET /v1/workflows/{id}/versions": { ok: 200 },
    "POST /v1/workflows/{id}/test": { body: { sampleData: { firstName: "Mallory" } }, ok: 200 },
    "GET /v1/workflows/{id}/enrollments": { ok: 200 },
    "POST /v1/workflows/{id}/enrollments/cancel-all": { ok: 200 },
    "GET /v1/workflows/{id}/stats": { ok: 200 },
    "GET /v1/enrollments/{id}": { ok: 200 },
    "DELETE /v1/enrollments/{id}": { ok: 204 },
    "GET /v1/enrollments/{id}/logs": { ok: 200 },
    "POST /v1/enrollments/{id}/cancel": { ok: 200 },
    "GET /v1/imports/{id}": { ok: 200 },
    "GET /v1/messages/{id}": { ok: 200 },
    "GET /v1/outbox/{id}": { ok: 200 },
    "POST /v1/outbox/{id}/outcome": { body: { outcome: "answered" }, ok: 200 },
    "GET /v1/tasks/{id}": { ok: 200 },
    "GET /v1/topics/{id}": { ok: 200 },
    "PATCH /v1/topics/{id}": { body: { name: "Mallory's" }, ok: 200 },
    "DELETE /v1/topics/{id}": { ok: 204 },
    "POST /v1/tasks/{id}/complete": { body: { outcome: "completed" }, ok: 200 },
    "POST /v1/tasks/{id}/skip": { body: {}, ok: 200 },
    "GET /v1/connections/{id}": { ok: 200 },
    "PATCH /v1/connections/{id}": { body: { from: "mallory@evil.example" }, ok: 200 },
    "DELETE /v1/connections/{id}": { ok: 204 },
    "POST /v1/connections/{id}/resume": { ok: 200 },
    "GET /v1/webhooks/{id}": { ok: 200 },
    "PATCH /v1/webhooks/{id}": { body: { description: "Mallory's" }, ok: 200 },
    "DELETE /v1/webhooks/{id}": { ok: 204 },
    "POST /v1/webhooks/{id}/rotate-secret": { ok: 200 },
    "POST /v1/webhooks/{id}/test": { ok: 202 },
    "GET /v1/webhooks/{id}/deliveries": { ok: 200 },
    "GET /v1/reports/{id}": { ok: 200 },
    "GET /v1/reports/{id}/download": { ok: 200 },
    "DELETE /v1/reports/{id}": { ok: 204 },
    "POST /v1/reports/{id}/schedule": { body: { cron: "0 8 * * MON" }, ok: 200 },
    "DELETE /v1/reports/{id}/schedule": { ok: 200 },
    "GET /v1/agents/{id}": { ok: 200 },
    "PATCH /v1/agents/{id}": { body: { status: "paused" }, ok: 200 },
    "DELETE /v1/agents/{id}": { ok: 204 },
    "POST /v1/agents/{id}/execute": { body: { input: { name: "Mallory" } }, ok: 202 },
    "POST /v1/agents/{id}/inference": { body: { input: {} }, ok: 422 },
    "POST /v1/agents/{id}/score_lead": { body: (ids) => ({ contactId: ids.contactId }), ok: 200 },
    "GET /v1/agents/{id}/executions": { ok: 200 },
    "GET /v1/agents/{id}/executions/{executionId}": { ok: 200 },
    "GET /v1/agents/{id}/status": { ok: 200 },
    "GET /v1/agents/{id}/logs": { ok: 200 },
    "GET /v1/agents/{id}/costs": { ok: 200 },
    "GET /v1/agents/{id}/metrics": { ok: 200 },
    "GET /v1/monitoring/reasoning/{agentId}": { ok: 200 },
    "GET /v1/agent-templates/{id}": { ok: 200 },
    "PATCH /v1/agent-templates/{id}": { body: { temperature: 0.5 }, ok: 200 },
    "DELETE /v1/agent-templates/{id}": { ok: 204 },
    "PATCH /v1/agent-templates/{id}/execution-policy": { body: { maxConcurrent: 1 }, ok: 200 },
  };

  /** A's data in an answer to B, apart from what B itself sent (an id B put in its request may be echoed). */
  const leaks = (text, sentByB = "") =>
    [...secrets].filter((s) => text.includes(s) && !sentByB.includes(s));
  const doc = (await a("GET", "/openapi.json")).json;
  const listed = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (!path.startsWith("/v1/") || path.startsWith("/v1/admin") || !path.includes("{")) {
      continue;
    }
    for (const method of Object.keys(methods)) {
      listed.push(`${method.toUpperCase()} ${path}`);
    }
  }
  for (const op of listed) {
    const spec = SPECS[op];
    if (!spec) {
      failures.push(`${op}: listed in the document but not checked by this harness`);
      continue;
    }
    const [method, path] = op.split(" ");
    const resource = path.split("/")[2];
    const ids = await make[resource]();
    const url = path
      .replace("{id}", ids.id)
      .replace("{agentId}", ids.id)
      .replace("{executionId}", ids.executionId ?? "")
      .replace("{stepId}", ids.stepId ?? "")
      .replace("{transitionId}", ids.transitionId ?? "");
    const body = typeof spec.body === "function" ? spec.body(ids) : spec.body;
    // The reasoning of an agent is read through the agent.
    const home = resource === "monitoring" ? "agents" : resource;
    // What B could change, read before and after its request (updatedAt moves with A's own background work).
    const state = async () =>
      JSON.stringify({
        ...(await a("GET", `/v1/${home}/${ids.id}`)).json,
        updatedAt: undefined,
        download: undefined, // a report's signed link is minted afresh on every read
      });
    // A's own background work (an enrollment's email effect, an import running) settles
    // first — nothing pending or in progress, and two reads in a row alike — so a change
    // after B's request is B's.
    const busy = (json) => {
      const x = JSON.parse(json);
      return x.pendingEffects > 0 || ["queued", "processing", "running"].includes(x.status);
    };
    let before = await state();
    for (let i = 0; i < 100; i++) {
      await sleep(200);
      const again = await state();
      if (again === before && !busy(again)) {
        break;
      }
      before = again;
    }
    const res = await b(method, url, body);
    checked++;
    const leaked = leaks(res.text);
    if (res.status !== 404 || res.json?.error !== "not_found" || leaked.length > 0) {
      failures.push(
        `B: ${op} → ${res.status} ${leaked.length ? `leaks ${leaked.join(", ")}` : res.text.slice(0, 120)}`,
      );
    }
    const after = await state();
    if (after !== before) {
      const [was, is] = [JSON.parse(before), JSON.parse(after)];
      const changed = [...new Set([...Object.keys(was), ...Object.keys(is)])].filter(
        (k) => JSON.stringify(was[k]) !== JSON.stringify(is[k]),
      );
      failures.push(
        `B: ${op} changed A's ${resource} ${ids.id}: ${changed.map((k) => `${k} ${JSON.stringify(was[k])?.slice(0, 80)} → ${JSON.stringify(is[k])?.slice(0, 80)}`).join("; ")}`,
      );
    }
    const control = await a(method, url, body);
    if (control.status !== spec.ok) {
      failures.push(
        `A (control): ${op} → ${control.status}, expected ${spec.ok}: ${control.text.slice(0, 160)}`,
      );
    }
  }

  // A's ids inside B's query strings and bodies.
  const own = {
    workflow: await workflow(),
    contact: await contact(),
    template: await template(),
  };
  const bFlow = (
    await b("POST", "/v1/workflows", {
      name: "B flow",
      status: "active",
      steps: [{ type: "delay", config: { amount: 1, unit: "days" } }],
    })
  ).json;
  const crossRefs = [
    {
      what: "enrollments filtered by A's workflow",
      req: ["GET", `/v1/enrollments?workflowId=${sent.workflowId}`],
      b: (r) => r.status === 200 && r.json.data.length === 0,
      a: (r) => r.json?.data?.length >= 1,
    },
    {
      what: "enrollments filtered by A's contact",
      req: ["GET", `/v1/enrollments?contactId=${sent.contactId}`],
      b: (r) => r.status === 200 && r.json.data.length === 0,
      a: (r) => r.json?.data?.length === 1,
    },
    {
      what: "messages filtered by A's enrollment",
      req: ["GET", `/v1/messages?enrollmentId=${sent.id}`],
      b: (r) => r.status === 200 && r.json.data.length === 0,
      a: (r) => r.json?.data?.length === 1,
    },
    {
      what: "messages filtered by A's contact",
      req: ["GET", `/v1/messages?contactId=${sent.contactId}`],
      b: (r) => r.status === 200 && r.json.data.length === 0,
      a: (r) => r.json?.data?.length === 1,
    },
    {
      what: "outbox filtered by A's message",
      req: ["GET", `/v1/outbox?messageId=${message?.id}`],
      b: (r) => r.status === 200 && r.json.data.length === 0,
      a: (r) => r.json?.data?.length === 1,
    },
    {
      what: "an enrollment into A's workflow",
      req: [
        "POST",
        "/v1/enrollments",
        { workflowId: own.workflow.id, contact: { email: "b-new@example.test" } },
      ],
      b: (r) => r.status === 404,
      a: (r) => r.status === 201,
    },
    {
      what: "an enrollment of A's contact",
      req: ["POST", "/v1/enrollments", { workflowId: bFlow.id, contactId: own.contact.id }],
      b: (r) => r.status === 404,
      a: null,
    },
    {
      what: "a bulk enrollment of A's contact",
      req: ["POST", "/v1/enrollments/bulk", { workflowId: bFlow.id, contactIds: [own.contact.id] }],
      b: (r) =>
        r.status === 422 &&
        r.json.error === "no_enrollments_created" &&
        r.json.results[0].reason === "Contact not found",
      a: null,
    },
    {
      what: "an event for A's contact",
      req: ["POST", "/v1/events", { name: "visited", contactId: own.contact.id }],
      b: (r) => r.status === 404,
      a: (r) => r.status === 202,
    },
    {
      what: "a workflow sending A's template",
      req: [
        "POST",
        "/v1/workflows",
        {
          name: "uses A's template",
          steps: [{ type: "send_email", config: { templateId: own.template.id } }],
        },
      ],
      b: (r) => r.status === 422 && r.json.error === "invalid_graph",
      a: (r) => r.status === 201,
    },
    {
      what: "an import into A's workflow",
      req: [
        "POST",
        "/v1/imports",
        { workflowId: own.workflow.id, contacts: [{ email: "b-import@example.test" }] },
      ],
      b: (r) => r.status === 404,
      a: (r) => r.status === 202,
    },
    {
      what: "a CSV import into A's workflow",
      req: [
        "POST",
        `/v1/imports?workflowId=${own.workflow.id}`,
        "email\nb-csv@example.test\n",
        { "content-type": "text/csv" },
      ],
      b: (r) => r.status === 404,
      a: (r) => r.status === 202,
    },
    {
      what: "metrics of A's workflow",
      req: ["GET", `/v1/analytics/metrics?workflowId=${own.workflow.id}`],
      b: (r) => r.status === 404,
      a: (r) => r.status === 200,
    },
    {
      what: "the funnel of A's workflow",
      req: ["GET", `/v1/analytics/funnel?workflowId=${own.workflow.id}`],
      b: (r) => r.status === 404,
      a: (r) => r.status === 200,
    },
    {
      what: "a chart of A's workflow",
      req: ["GET", `/v1/analytics/charts?workflowId=${own.workflow.id}&format=svg`],
      b: (r) => r.status === 404,
      a: (r) => r.status === 200,
    },
    {
      what: "a report on A's workflow",
      req: [
        "POST",
        "/v1/reports",
        { type: "messages_export", params: { workflowId: own.workflow.id } },
      ],
      b: (r) => r.status === 404,
      a: (r) => r.status === 202,
    },
  ];
  // The controls for B's own workflow with A's contact: A enrolls its contact into its workflow.
  const aFlow = await workflow();
  crossRefs[6].a = async () =>
    (await a("POST", "/v1/enrollments", { workflowId: aFlow.id, contactId: own.contact.id }))
      .status === 201;
  crossRefs[7].a = async () =>
    (
      await a("POST", "/v1/enrollments/bulk", {
        workflowId: (await workflow()).id,
        contactIds: [own.contact.id],
      })
    ).status === 201;
  for (const x of crossRefs) {
    const [method, url, body, headers] = x.req;
    const res = await b(method, url, body, headers);
    checked++;
    const leaked = leaks(
      res.text,
      `${url} ${typeof body === "string" ? body : JSON.stringify(body ?? null)}`,
    );
    if (!x.b(res) || leaked.length > 0) {
      failures.push(
        `B: ${x.what} → ${res.status} ${leaked.length ? `leaks ${leaked.join(", ")}` : res.text.slice(0, 160)}`,
      );
    }
    const ok = x.a.length === 0 ? await x.a() : x.a(await a(method, url, body, headers));
    if (!ok) {
      failures.push(`A (control): ${x.what} did not succeed for the owner`);
    }
  }
  // Every list B can read, and every report file B can export, with nothing of A's in them.
  // B has data of its own, so its lists and files are not empty by construction.
  const bContact = (
    await b("POST", "/v1/contacts", { email: "b-own@example.test", firstName: "Bob" })
  ).json;
  await b("POST", "/v1/enrollments", { workflowId: bFlow.id, contactId: bContact?.id });
  const lists = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (path.startsWith("/v1/") && !path.startsWith("/v1/admin") && !path.includes("{")) {
      if (methods.get) {
        lists.push({ path, op: methods.get });
      }
    }
  }
  for (const { path, op } of lists) {
    // Required query parameters get B's own values (the funnel needs a workflow).
    const required = (op.parameters ?? []).filter((p) => p.in === "query" && p.required);
    const own = { workflowId: bFlow.id, contactId: bContact?.id };
    const missing = required.filter((p) => !own[p.name]);
    if (missing.length) {
      failures.push(
        `B: GET ${path} needs ${missing.map((p) => p.name).join(", ")}: give B a value`,
      );
      continue;
    }
    const qs = required.map((p) => `${p.name}=${encodeURIComponent(own[p.name])}`).join("&");
    const res = await b("GET", qs ? `${path}?${qs}` : path);
    checked++;
    const leaked = leaks(res.text);
    if (res.status !== 200 || leaked.length > 0) {
      failures.push(
        `B: list GET ${path} → ${res.status} ${leaked.length ? `leaks ${leaked.join(", ")}` : res.text.slice(0, 120)}`,
      );
    }
  }
  const reportTypes = doc.components.schemas.ReportInput?.properties?.type?.enum;
  if (!reportTypes?.length) {
    failures.push("B: no report types found in the document");
  }
  for (const type of reportTypes ?? []) {
    const r = await b("POST", "/v1/reports", { type });
    let ready;
    for (let i = 0; i < 100 && r.json?.id; i++) {
      ready = (await b("GET", `/v1/reports/${r.json.id}`)).json;
      if (ready?.status === "completed" || ready?.status === "failed") {
        break;
      }
      await sleep(100);
    }
    const file = await b("GET", `/v1/reports/${r.json?.id}/download`);
    checked++;
    const leaked = leaks(file.text);
    if (r.status !== 202 || ready?.status !== "completed" || file.status !== 200 || leaked.length) {
      failures.push(
        `B: ${type} report → ${r.status}, ${ready?.status}, file ${file.status} ${leaked.length ? `leaks ${leaked.join(", ")}` : file.text.slice(0, 120)}`,
      );
    }
  }
  const expected = listed.length + crossRefs.length + lists.length + (reportTypes?.length ?? 0);
  if (checked < expected) {
    failures.push(`checked ${checked} of ${expected} cross-org requests, lists and files`);
  }
  console.log(
    `isolation: ${listed.length} operations with path ids in the document, ${crossRefs.length} cross-org references in queries and bodies, ${lists.length} lists and ${reportTypes?.length ?? 0} report files of B's`,
  );
} finally {
  await server.stop();
}
console.log(
  `isolation: ${checked} cross-org requests checked, each with a same-org control; ${failures.length} failures`,
);
for (const f of failures) {
  console.log(`  ${f}`);
}
console.log(
  `isolation: ${failures.length === 0 ? 1 : 0} passed, ${failures.length === 0 ? 0 : 1} failed`,
);
process.exit(failures.length === 0 ? 0 : 1);
