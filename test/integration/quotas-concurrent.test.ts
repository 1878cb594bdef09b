// Quotas under concurrent creation: the limit is kept by the database (migration
// 0002_quotas.sql), so N creates racing at a quota of M create exactly M, and each of the rest
// is refused with 403 quota_exceeded naming the resource.
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, expectError, newOrg } from "../helpers/api";

const setQuotas = (orgId: string, body: unknown) =>
  call("PATCH", `/v1/admin/orgs/${orgId}/quotas`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    body,
  });

/** Splits answers into the created and the refused, each refusal checked as quota_exceeded. */
function tally(answers: { status: number; json: any }[], resource: string) {
  const created = answers.filter((a) => a.status === 201);
  const refused = answers.filter((a) => a.status !== 201);
  for (const r of refused) {
    expectError(r, 403, "quota_exceeded");
    expect(r.json.resource).toBe(resource);
  }
  return { created, refused };
}

describe("quotas under concurrent creation", () => {
  it("12 contacts created at once at a quota of 3: exactly 3 exist, 9 get 403 quota_exceeded", async () => {
    const { key, orgId } = await newOrg();
    expect((await setQuotas(orgId, { contacts: 3 })).status).toBe(200);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        call("POST", "/v1/contacts", { key, body: { email: `racer${i}@quota.test` } }),
      ),
    );
    const { created, refused } = tally(answers, "contacts");
    expect([created.length, refused.length]).toEqual([3, 9]);
    const stored = (await call("GET", "/v1/contacts?limit=100", { key })).json.data;
    expect(stored.map((c: { id: string }) => c.id).sort()).toEqual(
      created.map((c) => c.json.id).sort(),
    );
    expect((await call("GET", "/v1/account", { key })).json.quotas.contacts).toEqual({
      used: 3,
      limit: 3,
    });
  });

  it("8 workflows created at once at a quota of 2: exactly 2 exist, 6 get 403 quota_exceeded", async () => {
    const { key, orgId } = await newOrg();
    expect((await setQuotas(orgId, { workflows: 2 })).status).toBe(200);
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        call("POST", "/v1/workflows", { key, body: { name: `Racer ${i}` } }),
      ),
    );
    const { created, refused } = tally(answers, "workflows");
    expect([created.length, refused.length]).toEqual([2, 6]);
    const stored = (await call("GET", "/v1/workflows?limit=100", { key })).json.data;
    expect(stored.map((w: { id: string }) => w.id).sort()).toEqual(
      created.map((w) => w.json.id).sort(),
    );
    expect((await call("GET", "/v1/account", { key })).json.quotas.workflows).toEqual({
      used: 2,
      limit: 2,
    });
  });
});
