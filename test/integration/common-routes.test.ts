// Tests every secured operation gets from the OpenAPI document, without anyone writing them:
// 401 without a key, 401 with a revoked key, and — for operations with a path id — 404 with
// another org's id (nothing of the owner's in the answer). A new operation is covered the day it
// is documented; one whose path names a resource with no fixture below fails until it has one.
import { beforeAll, describe, expect, it } from "vitest";
import { activeWorkflow, call, expectError, newOrg, poll } from "../helpers/api";

interface Operation {
  security?: Record<string, unknown>[];
  requestBody?: { content: Record<string, { example?: unknown }> };
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

let owner: { key: string; ids: Record<string, string> };
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
  const [outbox] = await poll(
    async () => (await call("GET", "/v1/outbox", { key: a.key })).json.data,
    (d) => d.length === 1,
  );
  owner = {
    key: a.key,
    ids: {
      contacts: contact.id,
      templates: template.id,
      workflows: workflow.id,
      enrollments: enrollment.id,
      webhooks: webhook.id,
      connections: connection.id,
      imports: imp.id,
      "api-keys": apiKey.id,
      messages: outbox.messageId,
      outbox: outbox.id,
      stepId: "s1",
      transitionId: (await call("GET", `/v1/workflows/${workflow.id}`, { key: a.key })).json
        .transitions[0].id,
    },
  };
  other = b;
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
