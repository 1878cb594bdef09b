// Tests every secured operation gets from the OpenAPI document, without anyone writing them:
// 401 without a key, 401 with a revoked key, 403 (or not) for a `send` key as the list below
// says, 422 naming an unknown body field, and — for operations with a path id — 404 with
// another org's id (nothing of the owner's in the answer). A new operation is covered the day it
// is documented; one whose path names a resource with no fixture below fails until it has one.
import { beforeAll, describe, expect, it } from "vitest";
import { activeWorkflow, call, expectError, newOrg, poll } from "../helpers/api";

interface Operation {
  security?: Record<string, unknown>[];
  requestBody?: { content: Record<string, { example?: unknown }> };
  responses: Record<string, unknown>;
}

const doc = (await call("GET", "/openapi.json")).json as {
  paths: Record<string, Record<string, Operation>>;
};
const secured = Object.entries(doc.paths).flatMap(([path, ops]) =>
  Object.entries(ops)
    .filter(([, op]) => op.security?.some((s) => "bearerAuth" in s))
    .map(([method, op]) => ({
      name: `${method.toUpperCase()} ${path}`,
      method: method.toUpperCase(),
      path,
      op,
    })),
);

/** Valid bodies for operations whose documented example does not reach the ownership check. */
const BODIES: Record<string, unknown> = {
  "POST /v1/workflows/{id}/steps": { type: "log", config: { message: "x" }, autoConnect: true },
  "POST /v1/workflows/{id}/transitions": { from: "s1", to: "s2" },
  "PATCH /v1/workflows/{id}/steps/{stepId}": { name: "x" },
};

const bodyOf = (name: string, op: Operation) =>
  BODIES[name] ??
  op.requestBody?.content["application/json"]?.example ??
  (op.requestBody ? {} : undefined);

/**
 * What a `send` key may not do, written out by hand (not derived from the code under test):
 * anything on keys, connections and webhooks, and every write to templates and workflows
 * except the two dry runs (template preview, workflow test).
 */
const FULL_ONLY = new Set([
  "PATCH /v1/account",
  "PUT /v1/settings/sending",
  "POST /v1/topics",
  "PATCH /v1/topics/{id}",
  "DELETE /v1/topics/{id}",
  "POST /v1/reports",
  "DELETE /v1/reports/{id}",
  "POST /v1/reports/{id}/schedule",
  "DELETE /v1/reports/{id}/schedule",
  "POST /v1/api-keys",
  "GET /v1/api-keys",
  "GET /v1/api-keys/usage",
  "GET /v1/api-keys/{id}",
  "POST /v1/api-keys/{id}/revoke",
  "POST /v1/templates",
  "PATCH /v1/templates/{id}",
  "DELETE /v1/templates/{id}",
  "POST /v1/workflows",
  "PATCH /v1/workflows/{id}",
  "DELETE /v1/workflows/{id}",
  "POST /v1/workflows/{id}/steps",
  "PATCH /v1/workflows/{id}/steps/{stepId}",
  "DELETE /v1/workflows/{id}/steps/{stepId}",
  "POST /v1/workflows/{id}/transitions",
  "DELETE /v1/workflows/{id}/transitions/{transitionId}",
  "POST /v1/workflows/{id}/enrollments/cancel-all",
  "POST /v1/connections",
  "GET /v1/connections",
  "GET /v1/connections/{id}",
  "PATCH /v1/connections/{id}",
  "DELETE /v1/connections/{id}",
  "POST /v1/connections/{id}/resume",
  "GET /v1/webhooks/catalog",
  "POST /v1/webhooks",
  "GET /v1/webhooks",
  "GET /v1/webhooks/{id}",
  "PATCH /v1/webhooks/{id}",
  "DELETE /v1/webhooks/{id}",
  "POST /v1/webhooks/{id}/rotate-secret",
  "POST /v1/webhooks/{id}/test",
  "GET /v1/webhooks/{id}/deliveries",
  "POST /v1/outbox/{id}/outcome",
  "POST /v1/agents",
  "POST /v1/agents/spawn",
  "PATCH /v1/agents/{id}",
  "DELETE /v1/agents/{id}",
  "POST /v1/agent-templates",
  "PATCH /v1/agent-templates/{id}",
  "DELETE /v1/agent-templates/{id}",
  "PATCH /v1/agent-templates/{id}/execution-policy",
]);

let owner: { key: string; ids: Record<string, string> };
let sendKey: string;
let other: { key: string };
let revokedKey: string;

beforeAll(async () => {
  const a = await newOrg("Owner");
  const b = await newOrg("Other");
  const contact = (
    await call("POST", "/v1/contacts", {
      key: a.key,
      body: { email: "owner@x.co", firstName: "Owner" },
    })
  ).json;
  const template = (
    await call("POST", "/v1/templates", {
      key: a.key,
      body: { name: "T", subject: "S", html: "<p>x</p>" },
    })
  ).json;
  const workflow = await activeWorkflow(a.key, [
    { id: "s1", type: "send_email", config: { templateId: template.id } },
    { id: "s2", type: "delay", config: { amount: 1, unit: "days" } },
  ]);
  const enrollment = (
    await call("POST", "/v1/enrollments", {
      key: a.key,
      body: { workflowId: workflow.id, contactId: contact.id },
    })
  ).json;
  const webhook = (
    await call("POST", "/v1/webhooks", {
      key: a.key,
      body: { url: "https://hooks.owner.test/x", events: ["*"] },
    })
  ).json;
  const connection = (
    await call("POST", "/v1/connections", {
      key: a.key,
      body: { provider: "postmark", key: "pm", credentials: { serverToken: "t" } },
    })
  ).json;
  const imp = (
    await call("POST", "/v1/imports", {
      key: a.key,
      body: { contacts: [{ email: "imported@x.co" }] },
    })
  ).json;
  const apiKey = (await call("POST", "/v1/api-keys", { key: a.key, body: { name: "second" } }))
    .json;
  const report = (
    await call("POST", "/v1/reports", { key: a.key, body: { type: "contacts_export" } })
  ).json;
  const [outbox] = await poll(
    async () => (await call("GET", "/v1/outbox", { key: a.key })).json.data,
    (d) => d.length === 1,
  );
  const topic = (
    await call("POST", "/v1/topics", { key: a.key, body: { key: "owners", name: "Owners" } })
  ).json;
  const taskFlow = await activeWorkflow(a.key, [
    { id: "t1", type: "task", config: { taskType: "custom", title: "Check in", dueIn: 86_400 } },
  ]);
  await call("POST", "/v1/enrollments", {
    key: a.key,
    body: { workflowId: taskFlow.id, contactId: contact.id },
  });
  const [task] = await poll(
    async () => (await call("GET", "/v1/tasks", { key: a.key })).json.data,
    (d) => d.length === 1,
  );
  const agentTemplate = (
    await call("POST", "/v1/agent-templates", {
      key: a.key,
      body: { name: "T", prompt: "Hi", outputSchema: { type: "object" } },
    })
  ).json;
  const agent = (
    await call("POST", "/v1/agents", {
      key: a.key,
      body: { name: "A", type: "template", templateId: agentTemplate.id },
    })
  ).json;
  const execution = (
    await call("POST", `/v1/agents/${agent.id}/execute`, { key: a.key, body: { input: {} } })
  ).json;
  owner = {
    key: a.key,
    ids: {
      agents: agent.id,
      agentId: agent.id,
      executionId: execution.id,
      "agent-templates": agentTemplate.id,
      contacts: contact.id,
      templates: template.id,
      workflows: workflow.id,
      enrollments: enrollment.id,
      webhooks: webhook.id,
      connections: connection.id,
      imports: imp.id,
      "api-keys": apiKey.id,
      reports: report.id,
      messages: outbox.messageId,
      outbox: outbox.id,
      tasks: task.id,
      topics: topic.id,
      stepId: "s1",
      transitionId: (await call("GET", `/v1/workflows/${workflow.id}`, { key: a.key })).json
        .transitions[0].id,
    },
  };
  other = b;
  sendKey = (
    await call("POST", "/v1/api-keys", { key: a.key, body: { name: "sender", scope: "send" } })
  ).json.key;
  revokedKey = (await call("POST", "/v1/api-keys", { key: b.key, body: { name: "revoked" } })).json
    .key;
  await call(
    "POST",
    `/v1/api-keys/${(await call("GET", "/v1/api-keys", { key: b.key })).json.data[0].id}/revoke`,
    { key: b.key },
  );
});

/** The path with the owner's ids; throws for a resource that has no fixture yet. */
function pathFor(path: string) {
  const resource = path.split("/")[2];
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const id = name === "id" ? owner.ids[resource] : owner.ids[name];
    if (!id) {
      throw new Error(`no fixture for {${name}} of ${path}: add one to common-routes.test.ts`);
    }
    return id;
  });
}

describe.each(secured)("$name", ({ name, method, path, op }) => {
  it("answers 401 without a key", async () => {
    expectError(await call(method, pathFor(path), { body: bodyOf(name, op) }), 401, "unauthorized");
  });

  it("answers 401 with a revoked key", async () => {
    const res = await call(method, pathFor(path), { key: revokedKey, body: bodyOf(name, op) });
    expectError(res, 401, "unauthorized");
    expect(res.json.message).toMatch(/revoked/);
  });

  // What a send key may do is answered with one of the operation's documented statuses, and
  // never with the two that would mean the key was refused (401, 403).
  const allowed = Object.keys(op.responses).filter((s) => s !== "401" && s !== "403");
  it(`answers ${FULL_ONLY.has(name) ? "403" : `one of ${allowed.join(", ")}`} to a send key`, async () => {
    // Forbidden requests change nothing; allowed ones get an unknown field, so they stop at
    // validation (422) when they have a body and never touch the owner's fixtures.
    const body = bodyOf(name, op);
    const res = await call(method, pathFor(path), {
      key: sendKey,
      body: body === undefined || FULL_ONLY.has(name) ? body : { ...(body as object), zz: 1 },
    });
    if (FULL_ONLY.has(name)) {
      expectError(res, 403, "forbidden");
      expect(res.json.message).toMatch(/scope/);
    } else {
      expect(allowed).toContain(String(res.status));
    }
  });

  it.runIf(op.requestBody?.content["application/json"] !== undefined)(
    "answers 422 naming an unknown body field",
    async () => {
      const body = { ...(bodyOf(name, op) as object), unexpectedField: 1 };
      const res = await call(method, pathFor(path), { key: owner.key, body });
      expectError(res, 422, "validation_failed");
      expect(res.json.details).toContainEqual({
        path: "unexpectedField",
        message: 'Unknown field "unexpectedField"',
      });
    },
  );

  it.runIf(path.includes("{"))(
    "answers 404 to another org's key, with nothing of the owner's",
    async () => {
      const res = await call(method, pathFor(path), { key: other.key, body: bodyOf(name, op) });
      expectError(res, 404, "not_found");
      for (const id of Object.values(owner.ids).filter((v) => v.includes("_"))) {
        expect(res.text).not.toContain(id);
      }
      expect(res.text).not.toContain("owner@x.co");
    },
  );
});
