// Every report type, built for one org on a database that holds other orgs' rows too, holds
// that org's data and none of the others': generated over the whole catalog, so a report type
// added later is checked without a new test.
import { beforeAll, describe, expect, it } from "vitest";
import { REPORT_TYPES } from "../../src/db/schema";
import { activeWorkflow, call, newOrg, poll } from "../helpers/api";
import { settle } from "../helpers/enrollments";

interface Tenant {
  key: string;
  orgId: string;
  workflowId: string;
  contacts: { id: string; email: string; enrollmentId: string }[];
  messageIds: string[];
}

/** An org with a workflow, `n` contacts enrolled in it and the emails they were sent. */
async function tenant(name: string, n: number): Promise<Tenant> {
  const { key, orgId } = await newOrg(name);
  const w = await activeWorkflow(key, [
    { id: "hi", type: "send_email", config: { subject: `Hi from ${name}`, html: "<p>Hi</p>" } },
  ]);
  const contacts: Tenant["contacts"] = [];
  for (let i = 0; i < n; i++) {
    const email = `${name.toLowerCase()}${i}-${crypto.randomUUID().slice(0, 8)}@${name.toLowerCase()}.test`;
    const e = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: w.id, contact: { email, firstName: name } },
    });
    expect(e.status, e.text).toBe(201);
    await settle(key, e.json.id);
    contacts.push({ id: e.json.contactId, email, enrollmentId: e.json.id });
  }
  const sent = await poll(
    async () => (await call("GET", "/v1/outbox?limit=100", { key })).json.data,
    (d: { messageId: string }[]) => d.length === n,
  );
  return { key, orgId, workflowId: w.id, contacts, messageIds: sent.map((m) => m.messageId) };
}

/** Everything of the tenant's that could show up in a report. */
const marks = (t: Tenant) => [
  t.orgId,
  t.workflowId,
  ...t.messageIds,
  ...t.contacts.flatMap((c) => [c.id, c.email, c.enrollmentId]),
];

async function build(t: Tenant, type: string) {
  const created = await call("POST", "/v1/reports", { key: t.key, body: { type, format: "json" } });
  expect(created.status, created.text).toBe(202);
  const done = await poll(
    async () => (await call("GET", `/v1/reports/${created.json.id}`, { key: t.key })).json,
    (r) => r.status === "completed" || r.status === "failed",
    30_000,
  );
  expect(done.status, JSON.stringify(done.error)).toBe("completed");
  const file = await call("GET", `/v1/reports/${done.id}/download`, { key: t.key });
  expect(file.status).toBe(200);
  return { text: file.text, rows: JSON.parse(file.text) as Record<string, unknown>[] };
}

/** What of the tenant's own each type must hold (the rollup types: its workflow, if any row). */
const OWN: Record<(typeof REPORT_TYPES)[number], (t: Tenant) => string[]> = {
  contacts_export: (t) => t.contacts.map((c) => c.email),
  enrollments_export: (t) => t.contacts.map((c) => c.enrollmentId),
  messages_export: (t) => t.messageIds,
  workflow_performance: () => [],
  deliverability: () => [],
};

describe("reports hold their own org's rows only", () => {
  const orgs: { a: Tenant; b: Tenant; c: Tenant } = {} as never;
  beforeAll(async () => {
    // Three orgs, created in turn, so the other orgs' rows sit before and after B's.
    orgs.a = await tenant("Alpha", 3);
    orgs.b = await tenant("Bravo", 2);
    orgs.c = await tenant("Charlie", 2);
  }, 60_000);

  it.each(REPORT_TYPES)("%s for one org names nothing of the others'", async (type) => {
    const { a, b, c } = orgs;
    const { text, rows } = await build(b, type);
    const leaked = [...marks(a), ...marks(c)].filter((m) => text.includes(m));
    expect(leaked).toEqual([]);
    for (const own of OWN[type](b)) {
      expect(text).toContain(own);
    }
    if (type.endsWith("_export")) {
      // Exactly B's rows: no more (another org's) and no fewer.
      expect(rows).toHaveLength(type === "messages_export" ? b.messageIds.length : 2);
    }
    for (const row of rows) {
      if ("workflowId" in row && row.workflowId) {
        expect(row.workflowId).toBe(b.workflowId);
      }
    }
    // Rollups count B's two sends at most: another org's sends would raise the total.
    const sent = rows.reduce((n, r) => n + (typeof r.sent === "number" ? r.sent : 0), 0);
    expect(sent).toBeLessThanOrEqual(b.messageIds.length);
  });
});
