// Contact imports into a workflow: 2,000 rows with exact counts, CSV and Excel files with every
// rejected row and its reason, a broken CSV, and rows past the contacts quota.
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, activeWorkflow, call, expectError, newOrg, poll } from "../helpers/api";
import { delay, enroll } from "../helpers/journeys";

describe("bulk, funnel, cancel-all and imports", () => {
  it("imports 2,000 contacts into a workflow with exact counts", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600)]);
    await enroll(key, w.id, { email: "imp5@x.co" });
    const contacts: unknown[] = Array.from({ length: 2000 }, (_, i) => ({
      email: `imp${i}@x.co`,
      data: { n: i },
    }));
    contacts[10] = { email: "broken" };
    contacts[20] = { firstName: "No email, externalId or phone" };
    const res = await call("POST", "/v1/imports", { key, body: { workflowId: w.id, contacts } });
    expect(res.status).toBe(202);
    const done = await poll(
      async () => (await call("GET", `/v1/imports/${res.json.id}`, { key })).json,
      (i) => i.status === "completed",
      60_000,
    );
    expect(done).toMatchObject({
      total: 2000,
      processed: 2000,
      created: 1997,
      skipped: 1,
      failed: 2,
    });
    expect(
      done.errors.map((e: { row: number }) => e.row).sort((a: number, b: number) => a - b),
    ).toEqual([10, 20]);
  }, 90_000);

  it("imports CSV", { timeout: 90_000 }, async () => {
    const { key } = await newOrg();
    const csv = 'email,first_name,plan\nada@x.co,Ada,pro\n"grace@x.co","Grace ""G""",team\nbad,,\n';
    const res = await call("POST", "/v1/imports", {
      key,
      raw: csv,
      headers: { "content-type": "text/csv" },
    });
    expect(res.status).toBe(202);
    const done = await poll(
      async () => (await call("GET", `/v1/imports/${res.json.id}`, { key })).json,
      (i) => i.status === "completed",
      60_000,
    );
    expect(done).toMatchObject({ total: 3, created: 2, failed: 1 });
    const grace = (await call("GET", "/v1/contacts?email=grace@x.co", { key })).json.data[0];
    expect(grace).toMatchObject({ firstName: 'Grace "G"', data: { plan: "team" } });
  });

  it("imports an Excel file with semicolons, and reports every rejected row with its line and reason", {
    timeout: 90_000,
  }, async () => {
    const { key } = await newOrg();
    const csv =
      "sep=;\r\nemail;first_name;Stadt\r\nhans@x.de;Hans;Köln, Altstadt\r\n\r\nnot-an-email;X;Y\r\nada@x.co;Ada;Paris;extra\r\ngrace@x.co;Grace;Rom\r\n";
    const res = await call("POST", "/v1/imports", {
      key,
      raw: csv,
      headers: { "content-type": "text/csv; charset=utf-8" },
    });
    expect(res.status).toBe(202);
    const done = await poll(
      async () => (await call("GET", `/v1/imports/${res.json.id}`, { key })).json,
      (i) => i.status === "completed",
      60_000,
    );
    expect(done).toMatchObject({ total: 4, processed: 4, created: 2, failed: 2 });
    expect(done.errors).toEqual([
      { row: 2, line: 6, message: "Line 6 has 4 fields but the header has 3" },
      { row: 1, line: 5, message: expect.stringMatching(/^email: /) },
    ]);
    const hans = (await call("GET", "/v1/contacts?email=hans@x.de", { key })).json.data[0];
    expect(hans).toMatchObject({ firstName: "Hans", data: { Stadt: "Köln, Altstadt" } });
  });

  it("refuses a CSV file with an unterminated quote, naming the line", async () => {
    const { key } = await newOrg();
    const res = await call("POST", "/v1/imports", {
      key,
      raw: 'email,plan\na@x.co,pro\nb@x.co,"pro\nc@x.co,team\n',
      headers: { "content-type": "text/csv" },
    });
    expectError(res, 422, "validation_failed");
    expect(res.json.message).toMatch(/line 3/);
    expect(res.json.details).toEqual([{ path: "line 3", message: res.json.message }]);
  });

  it("reports rows past the contacts quota as rejected instead of stalling the import", {
    timeout: 90_000,
  }, async () => {
    const { key, orgId } = await newOrg();
    await call("PATCH", `/v1/admin/orgs/${orgId}/quotas`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      body: { contacts: 2 },
    });
    const res = await call("POST", "/v1/imports", {
      key,
      body: { contacts: [{ email: "a@x.co" }, { email: "b@x.co" }, { email: "c@x.co" }] },
    });
    const done = await poll(
      async () => (await call("GET", `/v1/imports/${res.json.id}`, { key })).json,
      (i) => i.status === "completed",
      60_000,
    );
    expect(done).toMatchObject({ total: 3, created: 2, failed: 1 });
    expect(done.errors).toEqual([
      { row: 2, message: "quota_exceeded: the org's contacts quota is reached" },
    ]);
  });
});
