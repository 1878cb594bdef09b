import { describe, expect, it } from "vitest";
import { activeWorkflow, call, newOrg, poll } from "../helpers/api";
import { DB } from "../helpers/db";
import { settle } from "../helpers/enrollments";

const FORMULA = '=HYPERLINK("https://evil.test","click")';
const BREAKS = ["\n", "\r", "\u2028", "\u2029"];

/** The CSV file of a report of `type`, built to completion. */
async function csvReport(key: string, type: string, params: Record<string, unknown> = {}) {
  const created = await call("POST", "/v1/reports", { key, body: { type, format: "csv", params } });
  expect(created.status, created.text).toBe(202);
  const done = await poll(
    async () => (await call("GET", `/v1/reports/${created.json.id}`, { key })).json,
    (r) => r.status === "completed" || r.status === "failed",
    30_000,
  );
  expect(done.status, JSON.stringify(done)).toBe("completed");
  return (await call("GET", `/v1/reports/${created.json.id}/download`, { key })).text;
}

/** Each value, as the CSV must carry it: quoted, with the ' that keeps it text. */
const escaped = (value: string) => `"'${value.replaceAll('"', '""')}"`;

/** No cell of the file starts a formula: each value appears escaped, never bare. */
function expectEscaped(csv: string, values: string[]) {
  for (const v of values) {
    expect(csv, JSON.stringify(v)).toContain(escaped(v));
    expect(csv.replaceAll(escaped(v), ""), JSON.stringify(v)).not.toContain(FORMULA);
  }
}

describe("CSV reports escape formulas followed by a line break", () => {
  it("contacts_export: names and data", async () => {
    const { key } = await newOrg();
    const names = BREAKS.map((b) => `${FORMULA}${b}Ada`);
    for (const [i, firstName] of names.entries()) {
      const res = await call("POST", "/v1/contacts", {
        key,
        body: { email: `f${i}@x.co`, firstName, lastName: `  ${FORMULA}` },
      });
      expect(res.status, res.text).toBe(201);
    }
    const csv = await csvReport(key, "contacts_export");
    expectEscaped(csv, [...names, `  ${FORMULA}`]);
  });

  it("messages_export and enrollments_export: subjects and errors", async () => {
    const { key, orgId } = await newOrg();
    const wf = await activeWorkflow(key, [{ id: "l", type: "log", config: { message: "hi" } }]);
    const e = (
      await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: wf.id, contact: { email: "m@x.co" } },
      })
    ).json;
    await settle(key, e.id);
    const values = BREAKS.map((b) => `${FORMULA}${b}later`);
    await DB.prepare("UPDATE enrollments SET error = ? WHERE org_id = ? AND id = ?")
      .bind(values[0], orgId, e.id)
      .run();
    for (const [i, subject] of values.entries()) {
      await DB.prepare(
        `INSERT INTO messages (id, org_id, effect_key, contact_id, to_address, subject, status, opens, clicks,
           machine_opens, machine_clicks, unsubscribed, created_at)
         VALUES (?, ?, ?, 'con_x', 'r@x.co', ?, 'sent', 0, 0, 0, 0, 0, ?)`,
      )
        .bind(`msg_csv${orgId.slice(-6)}${i}`, orgId, `${orgId}:csv${i}`, subject, Date.now())
        .run();
    }
    expectEscaped(await csvReport(key, "messages_export"), values);
    expectEscaped(await csvReport(key, "enrollments_export"), [values[0]]);
  });

  it("workflow_performance: the workflow's name", async () => {
    const { key } = await newOrg();
    const name = `${FORMULA}\nFlow`;
    const wf = await activeWorkflow(key, [{ id: "l", type: "log", config: { message: "hi" } }], {
      name,
    });
    const e = (
      await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: wf.id, contact: { email: "p@x.co" } },
      })
    ).json;
    await settle(key, e.id);
    const csv = await csvReport(key, "workflow_performance", { lastDays: 7, timezone: "UTC" });
    expectEscaped(csv, [name]);
  });
});
