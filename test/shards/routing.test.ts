// Shard routing, proved on the raw shards (the "two-shards" project: shards 0 and 1 general,
// shard 2 declared eu). Orgs made through the admin route spread over the general shards, each
// runs a realistic workload through the API, and then no shard holds a row of an org the
// directory places elsewhere. Admin reads across orgs and the watchdog cover every shard, and an
// eu org's rows and Durable Objects stay in its jurisdiction.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { EnrollmentDO } from "../../src/enrollments/object/enrollment";
import { regionOfId } from "../../src/ground/ids";
import { runWatchdog } from "../../src/watchdog";
import { templateAgent as createTemplateAgent } from "../helpers/agents";
import { ADMIN_TOKEN, activeWorkflow, call, expectError, poll, testLog } from "../helpers/api";
import { rawShard } from "../helpers/db";
import { drained, enrollment, stubOf } from "../helpers/enrollments";
import { delay, mail, outboxFor } from "../helpers/journeys";
import { deliver, raw } from "../helpers/mail";
import { captureQueue, consume } from "../helpers/queues";

const GENERAL = [0, 1];
const EU_SHARD = 2;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const directory = env.DB_DIRECTORY as unknown as D1Database;
const rand = () => Math.random().toString(36).slice(2, 10);

function shard(i: number): D1Database {
  const db = rawShard(i);
  if (!db) {
    throw new Error(`shard ${i} is not bound: run this file in the "two-shards" project`);
  }
  return db;
}
const shards = () => [0, 1, EU_SHARD].map(shard);

/** Orgs placed per shard, as the directory counts them for least-filled placement. */
async function fill() {
  const { results } = await directory
    .prepare("SELECT shard, count(*) AS n FROM org_placements GROUP BY shard")
    .all<{ shard: number; n: number }>();
  return new Map(results.map((r) => [r.shard, r.n]));
}

async function createOrg(name: string, region?: string) {
  return call("POST", "/v1/admin/orgs", {
    headers: admin,
    body: region ? { name, region } : { name },
  });
}

interface Org {
  orgId: string;
  key: string;
  shard: number;
  replyDomain: string;
  connectionId: string;
  enrollmentIds: string[];
  contacts: string[];
  unmatchedSubject: string;
}

/**
 * What a customer does in a first week: an email connection with a reply domain and sending
 * limits (its mailbox object), contacts, a sequence (send_email, delay, send_email) with two
 * enrollments run to the end, an event that starts a workflow, a webhook subscription that
 * receives them, an import that enrolls three more contacts, and a stranger's mail to its
 * reply domain that matches nothing (kept as unmatched).
 */
async function workload(orgId: string, key: string, shardIndex: number): Promise<Org> {
  const replyDomain = `replies-${rand()}.acme.test`;
  const conn = await call("POST", "/v1/connections", {
    key,
    body: {
      provider: "outbox",
      from: "Acme <sales@acme.test>",
      replyDomain,
      limits: { perDay: 1000 },
    },
  });
  expect(conn.status, conn.text).toBe(201);
  const hook = await call("POST", "/v1/webhooks", {
    key,
    body: { url: `https://hooks.acme.test/${orgId}`, events: ["*"] },
  });
  expect(hook.status, hook.text).toBe(201);
  const contacts = [`ada-${rand()}@x.co`, `bob-${rand()}@x.co`];
  for (const email of contacts) {
    const c = await call("POST", "/v1/contacts", { key, body: { email, firstName: "Ada" } });
    expect(c.status, c.text).toBe(201);
  }
  const sequence = await activeWorkflow(key, [mail("Hello", "m1"), delay(1, "d"), mail("Again")]);
  const onSignup = await activeWorkflow(key, [{ type: "log", config: { message: "signed up" } }], {
    trigger: { type: "event", event: "signed_up" },
  });
  const enrollmentIds: string[] = [];
  for (const email of contacts) {
    const e = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: sequence.id, contact: { email } },
    });
    expect(e.status, e.text).toBe(201);
    enrollmentIds.push(e.json.id);
  }
  const event = await call("POST", "/v1/events", {
    key,
    body: { name: "signed_up", email: contacts[0], data: { plan: "pro" } },
  });
  expect(event.status, event.text).toBe(202);
  const imported = await call("POST", "/v1/imports", {
    key,
    body: {
      workflowId: onSignup.id,
      contacts: [1, 2, 3].map((i) => ({ email: `imported${i}-${rand()}@x.co` })),
    },
  });
  expect(imported.status, imported.text).toBe(202);
  const unmatchedSubject = `Question for ${orgId}`;
  await deliver(
    `stranger-${rand()}@elsewhere.test`,
    `hello@${replyDomain}`,
    raw(
      { From: "stranger@elsewhere.test", To: `hello@${replyDomain}`, Subject: unmatchedSubject },
      "Do you sell gift cards?",
    ),
  );
  // Everything it started runs to the end before the rows are counted.
  for (const id of enrollmentIds) {
    await poll(
      () => enrollment(key, id),
      (e) => e.status === "completed",
      30_000,
    );
  }
  await poll(
    () => outboxFor(key, contacts[1]),
    (sent) => sent.length === 2,
    30_000,
  );
  await poll(
    async () => (await call("GET", `/v1/imports/${imported.json.id}`, { key })).json,
    (i) => i.status === "completed",
    30_000,
  );
  const started = await poll(
    async () =>
      (await call("GET", `/v1/enrollments?workflowId=${onSignup.id}`, { key })).json.data as {
        id: string;
        status: string;
      }[],
    (list) => list.length === 4 && list.every((e) => e.status === "completed"),
    30_000,
  );
  enrollmentIds.push(...started.map((e) => e.id));
  await poll(
    async () => (await call("GET", `/v1/webhooks/${hook.json.id}/deliveries`, { key })).json.data,
    (d: { status: string }[]) => d.length > 0 && d.every((x) => x.status === "succeeded"),
    30_000,
  );
  return {
    orgId,
    key,
    shard: shardIndex,
    replyDomain,
    connectionId: conn.json.id,
    enrollmentIds,
    contacts,
    unmatchedSubject,
  };
}

/** The org ids the directory places on shard i. */
async function placedOn(i: number) {
  const { results } = await directory
    .prepare("SELECT org_id FROM org_placements WHERE shard = ?")
    .bind(i)
    .all<{ org_id: string }>();
  return new Set(results.map((r) => r.org_id));
}

/** Every table of the shard with an org_id column (the orgs table itself: its id). */
async function orgColumns(db: D1Database) {
  const { results: tables } = await db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations'",
    )
    .all<{ name: string }>();
  const found: { table: string; column: string }[] = [];
  for (const { name } of tables) {
    const { results: columns } = await db
      .prepare(`PRAGMA table_info("${name}")`)
      .all<{ name: string }>();
    if (name === "orgs") {
      found.push({ table: name, column: "id" });
    } else if (columns.some((c) => c.name === "org_id")) {
      found.push({ table: name, column: "org_id" });
    }
  }
  return found;
}

/** Per table: the org ids found in it and how many rows each has. */
async function orgRows(db: D1Database) {
  const out = new Map<string, Map<string, number>>();
  for (const { table, column } of await orgColumns(db)) {
    const { results } = await db
      .prepare(
        `SELECT "${column}" AS org, count(*) AS n FROM "${table}" WHERE "${column}" IS NOT NULL GROUP BY 1`,
      )
      .all<{ org: string; n: number }>();
    out.set(table, new Map(results.map((r) => [r.org, r.n])));
  }
  return out;
}

/**
 * Records each object asked for in a jurisdiction, answering with the plain namespace (local
 * workerd cannot create jurisdictional ids): which binding, which region, which name.
 */
function recordJurisdictions() {
  const asked: { binding: string; region: string; name: string }[] = [];
  const spies = (["ENROLLMENT", "MAILBOX", "AGENT_GATE"] as const).map((binding) => {
    const ns = env[binding] as unknown as DurableObjectNamespace;
    return vi.spyOn(ns, "jurisdiction").mockImplementation((region) => {
      const inRegion = Object.create(ns) as DurableObjectNamespace;
      inRegion.idFromName = (name: string) => {
        asked.push({ binding, region, name });
        return ns.idFromName(name);
      };
      inRegion.get = (id, options) => ns.get(id, options);
      return inRegion;
    });
  });
  return {
    asked,
    restore: () => {
      for (const spy of spies) {
        spy.mockRestore();
      }
    },
  };
}

const general: Org[] = [];
let eu: Org;
const predicted: { expected: number; got: number }[] = [];
let askedForGeneral: { binding: string; region: string; name: string }[] = [];
let askedForEu: { binding: string; region: string; name: string }[] = [];
let euAgent: { id: string; templateId: string };

beforeAll(async () => {
  // Customer endpoints (the webhook) and the model provider answer 200 without leaving the machine.
  vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("ok"));
  const made: { orgId: string; key: string; shard: number }[] = [];
  for (let i = 0; i < 4; i++) {
    const before = await fill();
    const expected = GENERAL.reduce((best, s) =>
      (before.get(s) ?? 0) < (before.get(best) ?? 0) ? s : best,
    );
    const res = await createOrg(`General ${i}`);
    expect(res.status, res.text).toBe(201);
    predicted.push({ expected, got: res.json.org.shard });
    made.push({ orgId: res.json.org.id, key: res.json.apiKey.key, shard: res.json.org.shard });
  }
  const jurisdictions = recordJurisdictions();
  try {
    general.push(...(await Promise.all(made.map((o) => workload(o.orgId, o.key, o.shard)))));
    askedForGeneral = [...jurisdictions.asked];
    const res = await createOrg("Europa GmbH", "eu");
    expect(res.status, res.text).toBe(201);
    eu = await workload(res.json.org.id, res.json.apiKey.key, res.json.org.shard);
    euAgent = await templateAgent(eu.key);
    askedForEu = jurisdictions.asked.slice(askedForGeneral.length);
  } finally {
    jurisdictions.restore();
  }
}, 240_000);

afterAll(() => {
  vi.restoreAllMocks();
});

/** A template agent, and the gate's status read (the gate object) once it exists. */
async function templateAgent(key: string) {
  const agent = await createTemplateAgent(key);
  const status = await call("GET", `/v1/agents/${agent.id}/status`, { key });
  expect(status.status, status.text).toBe(200);
  return { id: agent.id, templateId: agent.templateId };
}

describe("org shards: placement and routing", () => {
  it("places each new org on the least-filled general shard, spreading them over 0 and 1", async () => {
    expect(predicted.map((p) => p.got)).toEqual(predicted.map((p) => p.expected));
    expect(new Set(general.map((o) => o.shard))).toEqual(new Set(GENERAL));
    for (const o of general) {
      const placed = await directory
        .prepare("SELECT shard, region FROM org_placements WHERE org_id = ?")
        .bind(o.orgId)
        .first<{ shard: number; region: string | null }>();
      expect(placed).toEqual({ shard: o.shard, region: null });
      const account = (await call("GET", "/v1/account", { key: o.key })).json;
      expect(account).toMatchObject({ id: o.orgId, shard: o.shard, region: null });
    }
  });

  it("keeps every org's rows on the shard the directory places it on, and nowhere else", async () => {
    const all = [...general, eu];
    for (const [i, db] of shards().entries()) {
      const mine = await placedOn(i);
      const rows = await orgRows(db);
      expect(rows.size).toBeGreaterThan(20);
      for (const [table, orgs] of rows) {
        const strangers = [...orgs.keys()].filter((org) => !mine.has(org));
        expect(strangers, `shard ${i}, table ${table}: orgs placed elsewhere`).toEqual([]);
      }
      // The workload did land: each org of this shard has rows in every table it wrote.
      for (const o of all.filter((x) => x.shard === i)) {
        for (const table of [
          "orgs",
          "api_keys",
          "connections",
          "contacts",
          "workflows",
          "enrollments",
          "events",
          "messages",
          "webhooks",
          "webhook_deliveries",
          "imports",
        ]) {
          expect(rows.get(table)?.get(o.orgId), `shard ${i}, ${table}, ${o.orgId}`).toBeGreaterThan(
            0,
          );
        }
      }
    }
  });

  it("admin reads across orgs fan out to every shard: the fan-out backlog and unmatched mail", async () => {
    const pending = async () => {
      const counts = [];
      for (const db of shards()) {
        counts.push(
          (await db.prepare("SELECT count(*) AS n FROM event_fanouts").first<{ n: number }>())?.n ??
            0,
        );
      }
      return counts;
    };
    await poll(pending, (c) => c.every((n) => n === 0), 30_000);
    // Accepted events whose fan-out job is held back: two per general org.
    const held = captureQueue<{ kind: string; orgId: string }>(
      "EVENT_QUEUE",
      (b) => b.kind === "fanout",
    );
    try {
      for (const o of general) {
        for (const n of [1, 2]) {
          const res = await call("POST", "/v1/events", {
            key: o.key,
            body: { name: `visit_${n}`, email: o.contacts[0] },
          });
          expect(res.status).toBe(202);
        }
      }
    } finally {
      held.restore();
    }
    const perShard = await pending();
    expect(perShard).toEqual([
      2 * general.filter((o) => o.shard === 0).length,
      2 * general.filter((o) => o.shard === 1).length,
      0,
    ]);
    const metrics = await call("GET", "/v1/admin/metrics", { headers: admin });
    expect(metrics.status).toBe(200);
    expect(metrics.json.backlog.eventFanouts).toBe(2 * general.length);

    // The watchdog finds them lost on both shards and queues them again, each job naming its org.
    for (const db of shards()) {
      await db
        .prepare("UPDATE event_fanouts SET queued_at = ?")
        .bind(Date.now() - 60_000)
        .run();
    }
    const requeued = captureQueue<{ kind: "fanout"; orgId: string; eventIds: string[] }>(
      "EVENT_QUEUE",
      (b) => b.kind === "fanout",
    );
    let report: Awaited<ReturnType<typeof runWatchdog>>;
    try {
      report = await runWatchdog(env, testLog);
    } finally {
      requeued.restore();
    }
    expect(report.requeued.events).toBe(2 * general.length);
    const byOrg = new Map(requeued.captured.map((j) => [j.orgId, j.eventIds.length]));
    expect(Object.fromEntries(byOrg)).toEqual(Object.fromEntries(general.map((o) => [o.orgId, 2])));
    expect(new Set(general.filter((o) => byOrg.has(o.orgId)).map((o) => o.shard))).toEqual(
      new Set(GENERAL),
    );
    await consume("nudge-event", requeued.captured);
    expect(await pending()).toEqual([0, 0, 0]);
    expect((await call("GET", "/v1/admin/metrics", { headers: admin })).json.backlog).toEqual({
      eventFanouts: 0,
    });

    // Mail to an org's reply domain that matches nothing is kept on that org's shard; the
    // operator's list reads every shard.
    const listed = await call("GET", "/v1/admin/inbound-mail", { headers: admin });
    expect(listed.status).toBe(200);
    const subjects = (listed.json.data as { subject: string }[]).map((m) => m.subject);
    for (const o of [...general, eu]) {
      expect(subjects).toContain(o.unmatchedSubject);
      for (const [i, db] of shards().entries()) {
        const kept = await db
          .prepare(
            "SELECT count(*) AS n FROM inbound_mail WHERE kind = 'unmatched' AND subject = ?",
          )
          .bind(o.unmatchedSubject)
          .first<{ n: number }>();
        expect(kept?.n, `${o.unmatchedSubject} on shard ${i}`).toBe(i === o.shard ? 1 : 0);
      }
    }
  });

  it("the watchdog re-arms enrollments whose alarm was lost, on every shard", async () => {
    // One waiting enrollment per general shard, its object's alarm lost and its D1 row overdue.
    const chosen = GENERAL.map((s) => general.find((o) => o.shard === s) as Org);
    const ids: string[] = [];
    for (const o of chosen) {
      const w = await activeWorkflow(o.key, [delay(3600, "wait"), mail("Later")]);
      const e = await call("POST", "/v1/enrollments", {
        key: o.key,
        body: { workflowId: w.id, contact: { email: o.contacts[1] } },
      });
      expect(e.status, e.text).toBe(201);
      ids.push(e.json.id);
    }
    const alarmOf = (id: string) =>
      runInDurableObject(stubOf(id), (_o: EnrollmentDO, state) => state.storage.getAlarm());
    for (const [i, o] of chosen.entries()) {
      // Its start's effects confirmed, the object waits on its delay alone.
      await drained(ids[i]);
      await poll(
        async () =>
          shard(o.shard)
            .prepare("SELECT status FROM enrollments WHERE id = ?")
            .bind(ids[i])
            .first<{ status: string }>(),
        (r) => r?.status === "waiting",
      );
      await runInDurableObject(stubOf(ids[i]), (_o: EnrollmentDO, state) =>
        state.storage.deleteAlarm(),
      );
      expect(await alarmOf(ids[i])).toBeNull();
      await shard(o.shard)
        .prepare("UPDATE enrollments SET next_run_at = ? WHERE id = ?")
        .bind(Date.now() - 120_000, ids[i])
        .run();
    }
    const report = await runWatchdog(env, testLog);
    expect(report.outcomes.rearmed).toBeGreaterThanOrEqual(2);
    // Found through its own shard's row: each object has its alarm back.
    for (const id of ids) {
      expect(await alarmOf(id), id).not.toBeNull();
    }
  });
});

describe("data residency", () => {
  it("places an eu org on the eu shard and says so; a region no shard holds is refused", async () => {
    expect(eu.shard).toBe(EU_SHARD);
    expect(eu.orgId.endsWith("EU")).toBe(true);
    const placed = await directory
      .prepare("SELECT shard, region FROM org_placements WHERE org_id = ?")
      .bind(eu.orgId)
      .first();
    expect(placed).toEqual({ shard: EU_SHARD, region: "eu" });
    const account = await call("GET", "/v1/account", { key: eu.key });
    expect(account.json).toMatchObject({ id: eu.orgId, region: "eu", shard: EU_SHARD });
    // General orgs never land on the eu shard.
    expect(general.every((o) => o.shard !== EU_SHARD)).toBe(true);

    const before = await fill();
    expectError(await createOrg("Agency", "fedramp"), 422, "validation_failed");
    expectError(await createOrg("Agency", "mars"), 422, "validation_failed");
    expect(await fill()).toEqual(before);
  });

  it("mints the eu org's object ids with its mark, and general orgs' as before", () => {
    for (const id of [...eu.enrollmentIds, eu.connectionId, euAgent.id, euAgent.templateId]) {
      expect(regionOfId(id), id).toBe("eu");
    }
    for (const o of general) {
      for (const id of [o.orgId, o.connectionId, ...o.enrollmentIds]) {
        expect(id).toMatch(/^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$/);
      }
    }
  });

  it("asks for the eu org's Durable Objects in the eu jurisdiction, and no other org's", () => {
    // Local workerd cannot create jurisdictional ids, so the test records where each object
    // was asked for; on Cloudflare the same call places it in the EU.
    expect(askedForGeneral).toEqual([]);
    expect(askedForEu.every((a) => a.region === "eu" && regionOfId(a.name) === "eu")).toBe(true);
    const names = (binding: string) =>
      new Set(askedForEu.filter((a) => a.binding === binding).map((a) => a.name));
    for (const id of eu.enrollmentIds) {
      expect(names("ENROLLMENT").has(id), id).toBe(true);
    }
    expect(names("MAILBOX").has(eu.connectionId)).toBe(true);
    expect(names("AGENT_GATE").has(`template:${euAgent.templateId}`)).toBe(true);
  });
});
