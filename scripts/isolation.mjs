#!/usr/bin/env node
// npm run test:isolation — for every operation with a path id in /openapi.json (API-key
// routes), org B's key on org A's resource must be a 404 with nothing of A's in the body.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { client, sleep, startLocal, tempState } from "./lib/local.mjs";

const PORT = Number(process.env.ISOLATION_PORT ?? 8794);
const stateDir = tempState("nudge-isolation-");
const server = await startLocal({ port: PORT, stateDir });
const failures = [];
let checked = 0;

try {
  const adminToken = /ADMIN_TOKEN=(.+)/.exec(readFileSync(join(stateDir, "dev.vars"), "utf8"))[1].trim();
  const admin = client(server.base, adminToken);
  const orgA = (await admin("POST", "/v1/admin/orgs", { name: "Org A" })).json;
  const orgB = (await admin("POST", "/v1/admin/orgs", { name: "Org B" })).json;
  const a = client(server.base, orgA.apiKey.key);
  const b = client(server.base, orgB.apiKey.key);

  // Org A gets one of everything.
  const contact = (await a("POST", "/v1/contacts", { email: "secret-a@example.test", firstName: "Alice" })).json;
  const template = (await a("POST", "/v1/templates", { name: "A template", subject: "A", html: "<p>A</p>" })).json;
  const workflow = (
    await a("POST", "/v1/workflows", {
      name: "A flow",
      status: "active",
      steps: [
        { id: "a_send", type: "send_email", config: { templateId: template.id } },
        { id: "a_wait", type: "delay", config: { amount: 1, unit: "days" } },
      ],
    })
  ).json;
  const enrollment = (await a("POST", "/v1/enrollments", { workflowId: workflow.id, contactId: contact.id })).json;
  const webhook = (await a("POST", "/v1/webhooks", { url: "https://hooks.a.example/x", events: ["*"] })).json;
  const connection = (await a("POST", "/v1/connections", { provider: "postmark", key: "a-postmark", credentials: { serverToken: "a-token" } })).json;
  const imp = (await a("POST", "/v1/imports", { contacts: [{ email: "imported-a@example.test" }] })).json;
  const apiKey = (await a("POST", "/v1/api-keys", { name: "A second key" })).json;
  let message;
  let outbox;
  for (let i = 0; i < 100 && !outbox; i++) {
    message = (await a("GET", `/v1/messages?enrollmentId=${enrollment.id}`)).json.data[0];
    outbox = (await a("GET", "/v1/outbox")).json.data[0];
    if (!outbox) await sleep(100);
  }
  const ids = {
    contacts: contact.id,
    templates: template.id,
    workflows: workflow.id,
    enrollments: enrollment.id,
    webhooks: webhook.id,
    connections: connection.id,
    imports: imp.id,
    "api-keys": apiKey.id,
    messages: message?.id,
    outbox: outbox?.id,
  };
  const secrets = [...Object.values(ids).filter(Boolean), "secret-a@example.test", "Alice", "a-token", "hooks.a.example", orgA.org.id];

  const doc = (await a("GET", "/openapi.json")).json;
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (!path.startsWith("/v1/") || path.startsWith("/v1/admin") || !path.includes("{")) continue;
    for (const [method, op] of Object.entries(methods)) {
      const resource = path.split("/")[2];
      const url = path
        .replace("{id}", ids[resource] ?? "missing")
        .replace("{stepId}", "a_send")
        .replace("{transitionId}", workflow.transitions[0].id);
      // A valid body, so the answer can only depend on who owns the id.
      const validBodies = {
        "/v1/workflows/{id}/steps": { type: "log", config: { message: "x" } },
        "/v1/workflows/{id}/transitions": { from: "a_send", to: "a_wait" },
      };
      const jsonBody = op.requestBody?.content?.["application/json"] ? (validBodies[path] ?? {}) : undefined;
      const res = await b(method.toUpperCase(), url, jsonBody);
      checked++;
      const leaked = secrets.filter((s) => res.text.includes(s));
      if (res.status !== 404 || res.json?.error !== "not_found" || leaked.length > 0) {
        failures.push(`${method.toUpperCase()} ${url} → ${res.status} ${leaked.length ? `leaks ${leaked.join(", ")}` : res.text.slice(0, 120)}`);
      }
    }
  }
  // And A still sees its own resources (the check above is not vacuous).
  for (const [resource, id] of Object.entries(ids)) {
    if (!id) {
      failures.push(`org A has no ${resource} to test with`);
      continue;
    }
    const res = await a("GET", `/v1/${resource}/${id}`);
    if (res.status !== 200) failures.push(`org A cannot read its own ${resource} ${id}: ${res.status}`);
  }
} finally {
  await server.stop();
}
console.log(`isolation: ${checked} cross-org requests checked, ${failures.length} failures`);
for (const f of failures) console.log(`  ${f}`);
console.log(`isolation: ${failures.length === 0 ? 1 : 0} passed, ${failures.length === 0 ? 0 : 1} failed`);
process.exit(failures.length === 0 ? 0 : 1);
