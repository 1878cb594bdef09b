// Moving an org to another shard while it runs (POST /v1/admin/orgs/{id}/move): enrollments in
// flight finish and send each email once, the org's rows end up only on the new shard, the API
// answers 503 with Retry-After only during the move, and the move refuses what it must.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MOVED_TABLES, type MovedTable, NOT_ORG_DATA } from "../../src/accounts/move-store";
import { setMoving } from "../../src/db/shards";
import { ADMIN_TOKEN, activeWorkflow, call, expectError, poll } from "../helpers/api";
import { rawShard } from "../helpers/db";
import { fireAlarm } from "../helpers/enrollments";
import { delay, enroll, mail, outboxFor } from "../helpers/journeys";

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function createOrg(name: string, region?: "eu") {
  const res = await call("POST", "/v1/admin/orgs", {
    headers: admin,
    body: region ? { name, region } : { name },
  });
  expect(res.status).toBe(201);
  return {
    orgId: res.json.org.id as string,
    key: res.json.apiKey.key as string,
    shard: res.json.org.shard as number,
  };
}

const move = (orgId: string, shard: unknown) =>
  call("POST", `/v1/admin/orgs/${orgId}/move`, { headers: admin, body: { shard } });

const shard = (i: number) => rawShard(i) as D1Database;

/** The org's rows of a table on a shard, in key order (written here apart from the store). */
async function rowsOf(i: number, t: MovedTable, orgId: string) {
  const owner =
    "parent" in t.owner
      ? `${t.owner.column} IN (SELECT id FROM ${t.owner.parent} WHERE org_id = ?)`
      : `${t.owner.column} = ?`;
  const { results } = await shard(i)
    .prepare(`SELECT * FROM ${t.name} WHERE ${owner} ORDER BY ${t.key.join(", ")}`)
    .bind(orgId)
    .all();
  return results;
}

const countsOf = async (i: number, orgId: string) =>
  Object.fromEntries(
    await Promise.all(
      MOVED_TABLES.map(async (t) => [t.name, (await rowsOf(i, t, orgId)).length] as const),
    ),
  );

describe("moving an org to another shard", () => {
  it("covers every table of the schema: a table holding org data is in the move's list", async () => {
    const { results: tables } = await shard(0)
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name != 'd1_migrations'",
      )
      .all<{ name: string }>();
    const moved = new Map(MOVED_TABLES.map((t) => [t.name, t]));
    expect(moved.size).toBe(MOVED_TABLES.length);
    for (const { name } of tables) {
      // A new table must be added to MOVED_TABLES (or, holding no org's rows, to NOT_ORG_DATA).
      expect(moved.has(name) || name in NOT_ORG_DATA, `table ${name} is not moved`).toBe(true);
      const { results: columns } = await shard(0)
        .prepare(`SELECT name, pk FROM pragma_table_info('${name}')`)
        .all<{ name: string; pk: number }>();
      const t = moved.get(name);
      if (!t) {
        expect(columns.map((c) => c.name)).not.toContain("org_id");
        continue;
      }
      // Pages are read and deleted by the table's own primary key.
      const key = columns
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name);
      expect(t.key, `${name}'s key`).toEqual(key);
      if (columns.some((c) => c.name === "org_id")) {
        expect(t.owner, `${name} has org_id`).toEqual({ column: "org_id" });
      } else if (name !== "orgs") {
        expect("parent" in t.owner && moved.has(t.owner.parent), `${name}'s parent`).toBe(true);
        // A parent comes first: its rows are copied before and deleted after its children's.
        const at = (n: string) => MOVED_TABLES.findIndex((m) => m.name === n);
        expect(at((t.owner as { parent: string }).parent)).toBeLessThan(at(name));
      }
    }
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining([...moved.keys()]));
  });

  it("moves an org with 20 enrollments in flight: every one completes, each email is sent once", async () => {
    const { orgId, key, shard: from } = await createOrg("Moving");
    const to = from === 0 ? 1 : 0;
    const w = await activeWorkflow(key, [
      mail("First", "m1"),
      delay(2, "wait"),
      mail("Second", "m2"),
    ]);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await enroll(key, w.id, { email: `mover${i}@x.co` });
      expect(res.status).toBe(201);
      ids.push(res.json.id);
    }

    // The API is asked all through the move: it answers, or refuses with 503 and Retry-After.
    const moving = move(orgId, to);
    let done = false;
    const answered: number[] = [];
    const watching = (async () => {
      while (!done) {
        const res = await call("GET", `/v1/enrollments/${ids[0]}`, { key });
        answered.push(res.status);
        if (res.status !== 200) {
          expectError(res, 503, "service_unavailable");
          expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const res = await moving;
    done = true;
    await watching;
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ orgId, from, to });
    const moved = Object.fromEntries(
      (res.json.tables as { name: string; rows: number }[]).map((t) => [t.name, t.rows]),
    );
    expect(Object.keys(moved)).toEqual(MOVED_TABLES.map((t) => t.name));
    expect(moved).toMatchObject({
      orgs: 1,
      workflows: 1,
      workflow_versions: 1,
      enrollments: 20,
      contacts: 20,
    });
    expect(answered).toContain(503);
    // After the move the org is served again at once, from its new shard.
    expect((await call("GET", `/v1/enrollments/${ids[0]}`, { key })).status).toBe(200);

    for (const id of ids) {
      const e = await poll(
        async () => (await call("GET", `/v1/enrollments/${id}`, { key })).json,
        (e) => e.status !== "running" && e.status !== "waiting",
        25_000,
      );
      expect(e.status, `enrollment ${id}: ${JSON.stringify(e)}`).toBe("completed");
    }
    for (let i = 0; i < 20; i++) {
      const mails = await poll(
        () => outboxFor(key, `mover${i}@x.co`),
        (o) => o.length >= 2,
      );
      expect(mails.map((m) => m.subject).sort()).toEqual(["First", "Second"]);
    }
    // Nothing is sent twice later (a job retried across the move, an effect redelivered).
    await new Promise((r) => setTimeout(r, 1_000));
    const messages = await call("GET", "/v1/messages?limit=100", { key });
    expect(messages.status).toBe(200);
    expect(messages.json.data).toHaveLength(40);
    expect((await call("GET", `/v1/outbox?limit=100`, { key })).json.data).toHaveLength(40);

    const left = await countsOf(from, orgId);
    expect(
      Object.values(left).every((n) => n === 0),
      JSON.stringify(left),
    ).toBe(true);
    const now = await countsOf(to, orgId);
    expect(now).toMatchObject({ orgs: 1, enrollments: 20, contacts: 20, messages: 40, outbox: 40 });
  });

  it("copies every row as it was, in pages, an org kept over a lowered quota included", async () => {
    const { orgId, key, shard: from } = await createOrg("Quiet");
    const to = from === 0 ? 1 : 0;
    await activeWorkflow(key, [mail("Hello", "m1")]);
    const now = Date.now();
    // More contacts than a page holds, planted straight on the shard.
    await shard(from).batch(
      Array.from({ length: 230 }, (_, i) =>
        shard(from)
          .prepare(
            "INSERT INTO contacts (id, org_id, email, data, subscribed, created_at, updated_at) VALUES (?, ?, ?, '{}', 1, ?, ?)",
          )
          .bind(`ct_${orgId}_${String(i).padStart(3, "0")}`, orgId, `q${i}@x.co`, now, now),
      ),
    );
    const quotas = await call("PATCH", `/v1/admin/orgs/${orgId}/quotas`, {
      headers: admin,
      body: { contacts: 10 },
    });
    expect(quotas.status).toBe(200);
    const before = Object.fromEntries(
      await Promise.all(MOVED_TABLES.map(async (t) => [t.name, await rowsOf(from, t, orgId)])),
    );

    const res = await move(orgId, to);
    expect(res.status).toBe(200);
    expect(res.json.tables).toContainEqual({ name: "contacts", rows: 230 });
    for (const t of MOVED_TABLES) {
      expect(await rowsOf(to, t, orgId), t.name).toEqual(before[t.name]);
      expect(await rowsOf(from, t, orgId), t.name).toEqual([]);
    }
    // Its limits came along: still over its contacts quota, it may not add one.
    const refused = await call("POST", "/v1/contacts", { key, body: { email: "one-more@x.co" } });
    expectError(refused, 403, "quota_exceeded");
    expect((await call("GET", "/v1/contacts?limit=1", { key })).status).toBe(200);
  });

  it("refuses an unknown org, a bad or same shard, another region's shard, and a second move", async () => {
    expectError(await move("org_nope", 1), 404, "not_found");
    const { orgId, shard: from } = await createOrg("Refused");
    const other = from === 0 ? 1 : 0;
    expectError(await move(orgId, from), 422, "validation_failed");
    expectError(await move(orgId, 7), 422, "validation_failed");
    expectError(await move(orgId, -1), 422, "validation_failed");
    expectError(await move(orgId, "1"), 422, "validation_failed");
    // Shard 2 is declared eu: a general org may not go there, an eu org may go nowhere else.
    expectError(await move(orgId, 2), 422, "validation_failed");
    const eu = await createOrg("Residency", "eu");
    expect(eu.shard).toBe(2);
    expectError(await move(eu.orgId, 0), 422, "validation_failed");
    const noToken = await call("POST", `/v1/admin/orgs/${orgId}/move`, { body: { shard: other } });
    expectError(noToken, 401, "unauthorized");

    await setMoving(env, orgId, Date.now());
    try {
      expectError(await move(orgId, other), 409, "conflict");
    } finally {
      await setMoving(env, orgId, null);
    }
    // Nothing was moved by a refusal.
    expect((await countsOf(from, orgId)).orgs).toBe(1);
    expect((await countsOf(other, orgId)).orgs).toBe(0);
  });

  it("an enrollment whose alarm meets a move waits for it instead of failing", async () => {
    const { orgId, key } = await createOrg("Alarmed");
    const w = await activeWorkflow(key, [delay(3600, "wait"), mail("Later", "m1")]);
    const res = await enroll(key, w.id, { email: "alarmed@x.co" });
    expect(res.status).toBe(201);
    const id = res.json.id;
    await poll(
      async () => (await call("GET", `/v1/enrollments/${id}`, { key })).json,
      (e) => e.status === "waiting",
    );
    await setMoving(env, orgId, Date.now());
    try {
      // More wakes than the runtime's six retries: none fails the enrollment.
      for (let i = 0; i < 8; i++) {
        expect(await fireAlarm(id)).toBe(true);
      }
    } finally {
      await setMoving(env, orgId, null);
    }
    const e = (await call("GET", `/v1/enrollments/${id}`, { key })).json;
    expect(e.status).toBe("waiting");
    expect(e.error ?? null).toBeNull();
  });
});
