// Analytics: facts counted once where they happen, daily rollups read by /v1/analytics (metrics,
// charts, funnel), checked against the messages and enrollments they count.

import { env } from "cloudflare:workers";
import { DOMParser } from "@xmldom/xmldom";
import { describe, expect, it, vi } from "vitest";
import { recordFacts } from "../../src/analytics/facts";
import { readRollups } from "../../src/analytics/store";
import { database } from "../../src/db/client";
import { runWatchdog } from "../../src/watchdog";
import { activeWorkflow, call, expectError, newOrg, poll, testLog } from "../helpers/api";
import { DB } from "../helpers/db";
import { expireWait, settle, stubOf } from "../helpers/enrollments";
import { captureQueue } from "../helpers/queues";

const today = () => new Date().toISOString().slice(0, 10);

describe("the reporting time zone", () => {
  it("is the org's, set through PATCH /v1/account, and the default zone of reads", async () => {
    const { key } = await newOrg();
    expect((await call("GET", "/v1/account", { key })).json.reportingTimezone).toBe("UTC");
    const patched = await call("PATCH", "/v1/account", {
      key,
      body: { reportingTimezone: "Pacific/Auckland" },
    });
    expect(patched.status).toBe(200);
    expect(patched.json.reportingTimezone).toBe("Pacific/Auckland");
    expect((await call("GET", "/v1/account", { key })).json.reportingTimezone).toBe(
      "Pacific/Auckland",
    );
    expectError(
      await call("PATCH", "/v1/account", { key, body: { reportingTimezone: "Mars/Olympus" } }),
      422,
      "validation_failed",
    );
    const local = (await call("GET", "/v1/analytics/metrics?metrics=sent", { key })).json;
    expect(local.timezone).toBe("Pacific/Auckland");
    expect(local.to).toBe(
      new Intl.DateTimeFormat("en-CA", { timeZone: "Pacific/Auckland" }).format(new Date()),
    );
    expect((await call("GET", "/v1/analytics/metrics?timezone=UTC", { key })).json.timezone).toBe(
      "UTC",
    );
  });
});

describe("facts and rollups", () => {
  it("counts a fact once however often it is written, in UTC and the org's zone", async () => {
    const { orgId } = await newOrg();
    const db = database(DB);
    await DB.prepare("UPDATE orgs SET reporting_timezone = 'America/New_York' WHERE id = ?")
      .bind(orgId)
      .run();
    const at = Date.UTC(2026, 0, 10, 2, 0); // Jan 10 02:00 UTC = Jan 9 21:00 in New York
    const f = (id: string, metric: string) => ({ id, orgId, metric, at, workflowId: "wf_1" });
    await recordFacts(db, [f("a", "sent"), f("b", "sent"), f("c", "opened")]);
    await recordFacts(db, [f("a", "sent"), f("d", "sent")]);
    await Promise.all([recordFacts(db, [f("e", "sent")]), recordFacts(db, [f("e", "sent")])]);
    const read = (zone: string) =>
      readRollups(db, { orgId, zone, from: "2026-01-01", to: "2026-01-31" });
    expect((await read("UTC")).map((r) => [r.day, r.metric, r.value]).sort()).toEqual([
      ["2026-01-10", "opened", 1],
      ["2026-01-10", "sent", 4],
    ]);
    expect((await read("America/New_York")).map((r) => [r.day, r.metric, r.value]).sort()).toEqual([
      ["2026-01-09", "opened", 1],
      ["2026-01-09", "sent", 4],
    ]);
  });
});

/** Runs a split workflow for six contacts through the outbox, with opens, clicks, a bounce and conversions. */
async function journey() {
  const { key, orgId } = await newOrg();
  const link = '<p><a href="https://acme.test/pricing">Pricing</a></p>';
  const w = await activeWorkflow(
    key,
    [
      {
        id: "s",
        type: "split",
        config: {
          variants: [
            { key: "a", weight: 1 },
            { key: "b", weight: 1 },
          ],
        },
      },
      { id: "ea", type: "send_email", config: { subject: "A", html: link } },
      { id: "eb", type: "send_email", config: { subject: "B", html: link } },
    ],
    {
      transitions: [
        { from: "s", to: "ea", on: "a" },
        { from: "s", to: "eb", on: "b" },
      ],
      goal: { event: "purchased", withinDays: 14 },
    },
  );
  const enrollments: { id: string; contactId: string; email: string }[] = [];
  for (let i = 0; i < 6; i++) {
    const email = `j${i}-${crypto.randomUUID().slice(0, 8)}@x.co`;
    const e = (
      await call("POST", "/v1/enrollments", { key, body: { workflowId: w.id, contact: { email } } })
    ).json;
    await settle(key, e.id);
    enrollments.push({ id: e.id, contactId: e.contactId, email });
  }
  const outbox = await poll(
    async () => (await call("GET", "/v1/outbox?limit=100", { key })).json.data,
    (d: { html: string; messageId: string }[]) => d.length === 6,
  );
  // Clicks within 5 s of sending count as a scanner's: make the sends older.
  await DB.prepare("UPDATE messages SET sent_at = sent_at - 60000 WHERE org_id = ?")
    .bind(orgId)
    .run();
  const human = { "user-agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0" };
  for (const [i, item] of outbox.entries()) {
    const pixel = /src="https:\/\/nudge\.test(\/t\/o\/[^"]+)"/.exec(item.html)?.[1] as string;
    const click = /href="https:\/\/nudge\.test(\/t\/c\/[^"]+)"/.exec(item.html)?.[1] as string;
    if (i < 3) {
      await call("GET", pixel, { headers: human });
      await call("GET", pixel, { headers: human }); // within 60 s: counted once
    }
    if (i === 0) {
      // A minute later the same message is opened again: one more open, still one unique.
      await poll(
        async () =>
          (
            await DB.prepare("SELECT opens FROM messages WHERE id = ?")
              .bind(item.messageId)
              .first<{ opens: number }>()
          )?.opens,
        (n) => n === 1,
      );
      await DB.prepare("UPDATE messages SET last_opened_at = last_opened_at - 120000 WHERE id = ?")
        .bind(item.messageId)
        .run();
      await call("GET", pixel, { headers: human });
    }
    if (i === 3) {
      await call("GET", pixel, { headers: { "user-agent": "Mozilla/5.0" } }); // Apple MPP: a machine
    }
    if (i < 2) {
      await call("GET", click, { headers: human });
    }
  }
  // A hard bounce of the last message, reported by Postmark.
  const conn = (
    await call("POST", "/v1/connections", {
      key,
      body: {
        provider: "postmark",
        key: "pm",
        credentials: { serverToken: "t", webhookUsername: "hook", webhookPassword: "pw-123" },
      },
    })
  ).json;
  const bounced = outbox[5].messageId as string;
  await DB.prepare("UPDATE messages SET provider_message_id = 'pm-1' WHERE id = ?")
    .bind(bounced)
    .run();
  const bounce = () =>
    call("POST", `/inbound/postmark/${conn.id}`, {
      raw: JSON.stringify({ RecordType: "Bounce", Type: "HardBounce", ID: 1, MessageID: "pm-1" }),
      headers: {
        "content-type": "application/json",
        authorization: `Basic ${btoa("hook:pw-123")}`,
      },
    });
  expect((await bounce()).json.applied).toBe(1);
  // Two contacts buy (one twice): two conversions.
  for (const c of [enrollments[0], enrollments[1], enrollments[1]]) {
    const r = await call("POST", "/v1/events?wait=true", {
      key,
      body: { name: "purchased", email: c.email },
    });
    expect(r.status, r.text).toBe(202);
  }
  return { key, orgId, workflowId: w.id as string, enrollments };
}

/** What the messages and enrollments tables say, to check the rollups against. */
async function truth(orgId: string) {
  const m = await DB.prepare(
    `SELECT
       sum(case when status in ('sent','delivered','bounced','complained') then 1 else 0 end) AS sent,
       sum(case when status = 'bounced' then 1 else 0 end) AS bounced,
       sum(opens) AS opened, sum(case when opens > 0 then 1 else 0 end) AS uniqueOpened,
       sum(clicks) AS clicked, sum(case when clicks > 0 then 1 else 0 end) AS uniqueClicked,
       sum(machine_opens) AS machineOpened, sum(machine_clicks) AS machineClicked
     FROM messages WHERE org_id = ?`,
  )
    .bind(orgId)
    .first<Record<string, number>>();
  const variants = await DB.prepare(
    "SELECT variant, count(*) AS n FROM enrollments WHERE org_id = ? GROUP BY variant",
  )
    .bind(orgId)
    .all<{ variant: string; n: number }>();
  const counts = m as Record<string, number>;
  return {
    sent: counts.sent,
    bounced: counts.bounced,
    opened: counts.opened,
    uniqueOpened: counts.uniqueOpened,
    clicked: counts.clicked,
    uniqueClicked: counts.uniqueClicked,
    machineOpened: counts.machineOpened,
    machineClicked: counts.machineClicked,
    variants: Object.fromEntries(variants.results.map((r) => [r.variant, r.n])) as Record<
      string,
      number
    >,
  };
}

describe("GET /v1/analytics/metrics", () => {
  it("equals the messages and enrollments it counts, with rates as documented", async () => {
    const j = await journey();
    const counts =
      "enrolled,completed,converted,assigned,sent,bounced,opened,uniqueOpened,clicked,uniqueClicked,machineOpened,machineClicked,openRate,clickRate,bounceRate,conversionRate";
    const t = await poll(
      () => truth(j.orgId),
      (x) => x.opened === 4 && x.clicked === 2 && x.machineOpened === 1,
    );
    expect(t).toMatchObject({ sent: 6, bounced: 1, opened: 4, uniqueOpened: 3, uniqueClicked: 2 });
    const m = await poll(
      async () =>
        (await call("GET", `/v1/analytics/metrics?metrics=${counts}&timezone=UTC`, { key: j.key }))
          .json,
      (r) => r.totals?.converted === 2 && r.totals?.uniqueClicked === t.uniqueClicked,
    );
    expect(m.totals).toEqual({
      enrolled: 6,
      completed: 6,
      converted: 2,
      assigned: 6,
      sent: t.sent,
      bounced: t.bounced,
      opened: t.opened,
      uniqueOpened: t.uniqueOpened,
      clicked: t.clicked,
      uniqueClicked: t.uniqueClicked,
      machineOpened: t.machineOpened,
      machineClicked: t.machineClicked,
      openRate: Math.round((t.uniqueOpened / (t.sent - t.bounced)) * 10_000) / 10_000,
      clickRate: Math.round((t.uniqueClicked / (t.sent - t.bounced)) * 10_000) / 10_000,
      bounceRate: Math.round((t.bounced / t.sent) * 10_000) / 10_000,
      conversionRate: Math.round((2 / 6) * 10_000) / 10_000,
    });
    // One series, a point per day of the default 30 days, today's holding everything.
    expect(m.series).toHaveLength(1);
    expect(m.series[0].points).toHaveLength(30);
    expect(m.series[0].points.at(-1)).toEqual({ t: today(), values: m.totals });

    // Per variant: as many assigned as enrollments got it; conversions to their variant.
    const byVariant = (
      await call(
        "GET",
        "/v1/analytics/metrics?groupBy=variant&metrics=assigned,converted&timezone=UTC",
        {
          key: j.key,
        },
      )
    ).json;
    const assigned = Object.fromEntries(
      byVariant.series
        .filter((s: { key: string | null }) => s.key)
        .map((s: { key: string; totals: { assigned: number } }) => [s.key, s.totals.assigned]),
    );
    expect(assigned).toEqual(t.variants);

    // Per step: each email step's sends.
    const bySteps = (
      await call(
        "GET",
        `/v1/analytics/metrics?groupBy=step&metrics=sent&workflowId=${j.workflowId}&timezone=UTC`,
        {
          key: j.key,
        },
      )
    ).json;
    const sentByStep = Object.fromEntries(
      bySteps.series
        .filter((s: { totals: { sent: number } }) => s.totals.sent > 0)
        .map((s: { key: string; totals: { sent: number } }) => [s.key, s.totals.sent]),
    );
    expect(sentByStep).toEqual(
      Object.fromEntries(
        Object.entries({ ea: t.variants.a ?? 0, eb: t.variants.b ?? 0 }).filter(([, n]) => n > 0),
      ),
    );

    // Weeks and months sum the same days.
    const monthly = (
      await call("GET", "/v1/analytics/metrics?interval=month&metrics=sent&timezone=UTC", {
        key: j.key,
      })
    ).json;
    expect(monthly.series[0].points.at(-1).values.sent).toBe(t.sent);
    expect(monthly.series[0].points.at(-1).t).toBe(`${today().slice(0, 7)}-01`);
  });

  it("refuses unknown metrics, bad days, long periods, other zones and other orgs' workflows", async () => {
    const { key } = await newOrg();
    const other = await newOrg();
    const w = await activeWorkflow(other.key, [
      { id: "d", type: "delay", config: { amount: 1, unit: "days" } },
    ]);
    expectError(
      await call("GET", "/v1/analytics/metrics?metrics=sent,nope", { key }),
      422,
      "validation_failed",
    );
    expectError(
      await call("GET", "/v1/analytics/metrics?from=2026-02-30", { key }),
      422,
      "validation_failed",
    );
    expectError(
      await call("GET", "/v1/analytics/metrics?from=2026-03-01&to=2026-02-01", { key }),
      422,
      "validation_failed",
    );
    expectError(
      await call("GET", "/v1/analytics/metrics?from=2020-01-01&to=2026-01-01", { key }),
      422,
      "validation_failed",
    );
    expectError(
      await call("GET", "/v1/analytics/metrics?timezone=Asia/Tokyo", { key }),
      422,
      "validation_failed",
    );
    expectError(
      await call("GET", `/v1/analytics/metrics?workflowId=${w.id}`, { key }),
      404,
      "not_found",
    );
    expectError(
      await call("GET", `/v1/analytics/funnel?workflowId=${w.id}`, { key }),
      404,
      "not_found",
    );
  });
});

describe("GET /v1/analytics/charts and /funnel", () => {
  it("draws an SVG that parses, with a point per day and dataset; the funnel follows the steps", async () => {
    const j = await journey();
    await poll(
      async () =>
        (await call("GET", "/v1/analytics/metrics?metrics=converted", { key: j.key })).json,
      (r) => r.totals?.converted === 2,
    );
    const res = await call(
      "GET",
      "/v1/analytics/charts?format=svg&metrics=sent,uniqueOpened&from=2026-11-01&to=2026-11-14&timezone=UTC",
      { key: j.key },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/svg+xml; charset=utf-8");
    const errors: string[] = [];
    const doc = new DOMParser({
      onError: (level, msg) => void errors.push(`${level}: ${msg}`),
    }).parseFromString(res.text, "image/svg+xml");
    expect(errors).toEqual([]);
    const svg = doc.documentElement;
    expect(svg?.nodeName).toBe("svg");
    expect(svg?.getAttribute("role")).toBe("img");
    expect(doc.getElementsByTagName("title")[0]?.textContent).toContain("sent, uniqueOpened");
    const points = Array.from(doc.getElementsByTagName("circle")).filter(
      (c) => c.getAttribute("class") === "point",
    );
    expect(points).toHaveLength(14 * 2);
    const bar = await call(
      "GET",
      "/v1/analytics/charts?format=svg&type=bar&metrics=sent&interval=week&from=2026-11-02&to=2026-11-29",
      { key: j.key },
    );
    const bars = new DOMParser()
      .parseFromString(bar.text, "image/svg+xml")
      .getElementsByTagName("rect");
    expect(Array.from(bars).filter((r) => r.getAttribute("class") === "bar")).toHaveLength(4);
    const json = (
      await call("GET", "/v1/analytics/charts?metrics=openRate,clickRate", { key: j.key })
    ).json;
    expect(json.datasets.map((d: { label: string }) => d.label)).toEqual(["openRate", "clickRate"]);
    expect(json.labels).toHaveLength(30);
    expectError(
      await call("GET", "/v1/analytics/charts?metrics=sent,openRate", { key: j.key }),
      422,
      "validation_failed",
    );

    const f = (await call("GET", `/v1/analytics/funnel?workflowId=${j.workflowId}`, { key: j.key }))
      .json;
    const t = await truth(j.orgId);
    expect(f.enrolled).toBe(6);
    expect(f.converted).toBe(2);
    expect(f.steps.map((s: { stepId: string }) => s.stepId)).toEqual(["s", "ea", "eb"]);
    expect(f.steps[0]).toMatchObject({
      entered: 6,
      completed: 6,
      conversionFromStart: 1,
      conversionFromPrevious: null,
    });
    expect(f.steps[1].entered).toBe(t.variants.a ?? 0);
    expect(f.steps[2].entered).toBe(t.variants.b ?? 0);
    expect(f.steps[1].endedHere.completed + f.steps[2].endedHere.completed).toBe(6);
    expect(f.steps[1].medianSecondsFromPrevious).toBe(t.variants.a ? 0 : null);
  });
});

/** Seeded message ids: 16 characters of the org's id (unique per org), then the row number. */
const prefixOf = (orgId: string) => orgId.slice(-16);
const seededId = (orgId: string, n: number) =>
  `msg_${prefixOf(orgId)}${String(n).padStart(10, "0")}`;

/** Inserts `n` messages for the org straight into D1 (an export's rows, without sending them). */
async function seedMessages(
  orgId: string,
  n: number,
  subject: (i: number) => string,
  padding = "",
) {
  const now = Date.now();
  await DB.prepare(
    `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)
     INSERT OR IGNORE INTO messages (id, org_id, effect_key, contact_id, to_address, subject, status, opens, clicks,
       machine_opens, machine_clicks, unsubscribed, created_at)
     SELECT 'msg_' || ? || printf('%010d', n), ?, ? || n, 'con_x', 'r' || n || '@x.co', 's' || n || ?, 'sent', n % 3, 0, 0, 0, 0, ?
     FROM seq`,
  )
    .bind(n, prefixOf(orgId), orgId, `${orgId}:`, padding, now)
    .run();
  await DB.prepare("UPDATE messages SET subject = ? WHERE org_id = ? AND id = ?")
    .bind(subject(7), orgId, seededId(orgId, 7))
    .run();
}

const reportDone = (key: string, id: string) =>
  poll(
    async () => (await call("GET", `/v1/reports/${id}`, { key })).json,
    (r) => r.status === "completed" || r.status === "failed",
    60_000,
  );

describe("reports", () => {
  it("builds a 20,000-row export in pages and parts, and it downloads intact and formula-safe", async () => {
    const { key, orgId } = await newOrg();
    const injection = '=HYPERLINK("https://evil.test","click")';
    // Rows of ~760 bytes: 20,000 of them make three parts of 5 MiB (R2's minimum), a job each.
    await seedMessages(orgId, 20_000, () => injection, ` ${"x".repeat(600)}`);
    {
      const created = await call("POST", "/v1/reports", {
        key,
        body: { type: "messages_export", format: "csv" },
      });
      expect(created.status).toBe(202);
      expect(created.json).toMatchObject({ status: "queued", generation: 1, download: null });
      const r = await reportDone(key, created.json.id);
      expect(r).toMatchObject({ status: "completed", rows: 20_000, pages: 21, error: null });
      expect(r.bytes).toBeGreaterThan(2 * 5 * 1024 * 1024); // three parts, three jobs

      const file = await call("GET", `/v1/reports/${r.id}/download`, { key });
      expect(file.status).toBe(200);
      expect(file.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      expect(file.headers.get("content-disposition")).toBe(
        `attachment; filename="messages_export-${r.id}.csv"`,
      );
      expect(new TextEncoder().encode(file.text).length).toBe(r.bytes);
      const lines = file.text.split("\r\n");
      expect(lines.at(-1)).toBe(""); // every line ends in CRLF
      expect(lines[0]).toBe(
        "id,workflowId,stepId,enrollmentId,contactId,to,subject,status,provider,connectionId,opens,clicks,machineOpens,machineClicks,unsubscribed,error,createdAt,sentAt,deliveredAt,firstOpenedAt,firstClickedAt,repliedAt",
      );
      const rows = lines.slice(1, -1);
      expect(rows).toHaveLength(20_000);
      expect(new Set(rows.map((l) => l.split(",")[0])).size).toBe(20_000); // none twice, none lost
      expect(
        rows[0].startsWith(
          `${seededId(orgId, 1)},,,,con_x,r1@x.co,s1 ${"x".repeat(600)},sent,,,1,0,0,0,false,`,
        ),
      ).toBe(true);
      expect(rows[6]).toContain(`,"'=HYPERLINK(""https://evil.test"",""click"")",sent,`);
      expect(rows.at(-1)?.startsWith(`${seededId(orgId, 20_000)},`)).toBe(true);
    }
  });

  it("writes JSON, reports workflow performance from the rollups, and refuses bad input", async () => {
    const j = await journey();
    const json = (
      await call("POST", "/v1/reports", {
        key: j.key,
        body: { type: "enrollments_export", format: "json", params: { workflowId: j.workflowId } },
      })
    ).json;
    const perf = (
      await call("POST", "/v1/reports", {
        key: j.key,
        body: { type: "workflow_performance", params: { lastDays: 7, timezone: "UTC" } },
      })
    ).json;
    const done = await reportDone(j.key, json.id);
    expect(done.rows).toBe(6);
    const items = JSON.parse(
      (await call("GET", `/v1/reports/${json.id}/download`, { key: j.key })).text,
    );
    expect(items.map((e: { id: string }) => e.id).sort()).toEqual(
      j.enrollments.map((e) => e.id).sort(),
    );
    expect(items[0]).toMatchObject({ workflowId: j.workflowId, status: "completed" });

    const p = await reportDone(j.key, perf.id);
    expect(p.rows).toBe(1);
    const csv = (await call("GET", `/v1/reports/${perf.id}/download`, { key: j.key })).text.split(
      "\r\n",
    );
    const header = csv[0].split(",");
    const row = Object.fromEntries(csv[1].split(",").map((v, i) => [header[i], v]));
    const m = (
      await call(
        "GET",
        `/v1/analytics/metrics?groupBy=workflow&timezone=UTC&from=${row.from}&to=${row.to}`,
        {
          key: j.key,
        },
      )
    ).json.series.find((s: { key: string }) => s.key === j.workflowId).totals;
    expect(row).toMatchObject({
      workflowId: j.workflowId,
      workflowName: "Flow",
      enrolled: String(m.enrolled),
      sent: String(m.sent),
      uniqueOpened: String(m.uniqueOpened),
      openRate: String(m.openRate),
    });

    const bad = (body: unknown) => call("POST", "/v1/reports", { key: j.key, body });
    expectError(await bad({ type: "everything" }), 422, "validation_failed");
    expectError(
      await bad({ type: "messages_export", params: { status: "lost" } }),
      422,
      "validation_failed",
    );
    expectError(
      await bad({ type: "contacts_export", params: { from: "2026-13-01" } }),
      422,
      "validation_failed",
    );
    expectError(
      await bad({ type: "messages_export", params: { lastDays: 3, from: "2026-11-01" } }),
      422,
      "validation_failed",
    );
    expectError(
      await bad({ type: "messages_export", params: { workflowId: "wf_nope" } }),
      404,
      "not_found",
    );
    const other = await newOrg();
    expectError(await call("GET", `/v1/reports/${json.id}`, { key: other.key }), 404, "not_found");
    expectError(
      await call("GET", `/v1/reports/${json.id}/download`, { key: other.key }),
      404,
      "not_found",
    );
    expectError(
      await call("DELETE", `/v1/reports/${json.id}`, { key: other.key }),
      404,
      "not_found",
    );
  });

  it("re-runs on its schedule at a cron tick: report.ready, an emailed link, the old link 410", async () => {
    const { key, orgId } = await newOrg();
    await seedMessages(orgId, 30, (i) => `s${i}`);
    const created = (await call("POST", "/v1/reports", { key, body: { type: "messages_export" } }))
      .json;
    const first = await reportDone(key, created.id);
    expect(first.download.url).toMatch(/^https:\/\/nudge\.test\/t\/r\//);
    const firstLink = first.download.url.replace("https://nudge.test", "");
    expect((await call("GET", firstLink)).text.split("\r\n")).toHaveLength(32);

    expect(
      (
        await call("POST", `/v1/reports/${created.id}/schedule`, {
          key,
          body: { cron: "0 8 * * MON", timezone: "UTC", emails: ["revops@acme.test"] },
        })
      ).json.schedule,
    ).toMatchObject({ cron: "0 8 * * MON", timezone: "UTC", emails: ["revops@acme.test"] });
    expectError(
      await call("POST", `/v1/reports/${created.id}/schedule`, {
        key,
        body: { cron: "every monday" },
      }),
      422,
      "validation_failed",
    );
    const scheduled = (await call("GET", `/v1/reports/${created.id}`, { key })).json;
    const nextRunAt = Date.parse(scheduled.schedule.nextRunAt);
    expect(new Date(nextRunAt).getUTCDay()).toBe(1);
    expect(new Date(nextRunAt).getUTCHours()).toBe(8);

    // The tick after its time: a second run, announced.
    await seedMessages(orgId, 40, (i) => `s${i}`); // ten more rows (ids 31..40)
    const published = captureQueue<{
      kind: string;
      event?: { type: string; data: Record<string, unknown> };
    }>("WEBHOOK_QUEUE", (b) => b.kind === "publish" && b.event?.type === "report.ready");
    await call("POST", "/v1/webhooks", {
      key,
      body: { url: "https://hooks.acme.test/nudge", events: ["report.ready"] },
    });
    try {
      await runWatchdog(env, testLog, nextRunAt + 1_000);
      const second = await reportDone(key, created.id);
      expect(second).toMatchObject({ generation: 2, rows: 40, status: "completed" });
      expect(Date.parse(second.schedule.nextRunAt)).toBe(nextRunAt + 7 * 86_400_000);
      await poll(
        async () => published.captured.length,
        (n) => n === 1,
      );
      expect(published.captured[0].event?.data).toMatchObject({
        reportId: created.id,
        generation: 2,
        rows: 40,
      });
    } finally {
      published.restore();
    }
    const mail = await poll(
      async () => (await call("GET", "/v1/outbox?to=revops%40acme.test", { key })).json.data,
      (d: { text: string }[]) => d.length === 1,
    );
    const emailed = /https:\/\/nudge\.test(\/t\/r\/\S+)/.exec(mail[0].text)?.[1] as string;
    const file = await call("GET", emailed);
    expect(file.status).toBe(200);
    expect(file.text.split("\r\n")).toHaveLength(42);
    expectError(await call("GET", firstLink), 410, "link_expired");
    expectError(await call("GET", `${emailed}x`), 404, "not_found");

    // Unscheduled, deleted: the row and every file are gone.
    expect(
      (await call("DELETE", `/v1/reports/${created.id}/schedule`, { key })).json.schedule,
    ).toBeNull();
    expect((await call("DELETE", `/v1/reports/${created.id}`, { key })).status).toBe(204);
    expectError(await call("GET", `/v1/reports/${created.id}`, { key }), 404, "not_found");
    expect((await env.REPORTS.list({ prefix: `reports/${orgId}/${created.id}/` })).objects).toEqual(
      [],
    );
  });
});

describe("an enrollment's own counts", () => {
  it("are added once when its mirror write landed but its answer was lost", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [
      { id: "a", type: "log", config: { message: "a" } },
      { id: "d", type: "delay", config: { amount: 1, unit: "days" } },
      { id: "b", type: "log", config: { message: "b" } },
    ]);
    const e = (
      await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: w.id, contact: { email: `lost-${crypto.randomUUID()}@x.co` } },
      })
    ).json;
    await poll(
      async () => (await call("GET", `/v1/enrollments/${e.id}`, { key })).json.status,
      (s) => s === "waiting",
    );
    // The next mirror write (the one carrying step b and the end) lands in D1, then "fails".
    const real = DB.batch.bind(DB);
    let lost = 0;
    const spy = vi.spyOn(DB, "batch").mockImplementation(async (stmts) => {
      const result = await real(stmts);
      const sqlOf = (s: unknown) => String((s as { statement?: string }).statement ?? "");
      if (
        lost === 0 &&
        stmts.some((s) => sqlOf(s).includes("metric_rollups")) &&
        stmts.some((s) => sqlOf(s).startsWith('update "enrollments"'))
      ) {
        lost++;
        throw new Error("D1 answer lost");
      }
      return result;
    });
    try {
      await expect(expireWait(e.id)).rejects.toThrow("D1 answer lost");
    } finally {
      spy.mockRestore();
    }
    expect(lost).toBe(1);
    // The object writes its mirror again (as its alarm's retry or the watchdog's poke would).
    expect(await stubOf(e.id).poke()).toBe("finished");
    const f = (await call("GET", `/v1/analytics/funnel?workflowId=${w.id}&timezone=UTC`, { key }))
      .json;
    const byStep = Object.fromEntries(
      f.steps.map(
        (st: { stepId: string; entered: number; completed: number; endedHere: object }) => [
          st.stepId,
          { entered: st.entered, completed: st.completed, endedHere: st.endedHere },
        ],
      ),
    );
    const none = { completed: 0, cancelled: 0, failed: 0, exited: 0 };
    expect(byStep).toEqual({
      a: { entered: 1, completed: 1, endedHere: none },
      d: { entered: 1, completed: 1, endedHere: none },
      b: { entered: 1, completed: 1, endedHere: { ...none, completed: 1 } },
    });
    // The workflow's step stats (all days) count the same.
    const stats = (await call("GET", `/v1/workflows/${w.id}/stats`, { key })).json;
    expect(
      Object.fromEntries(
        stats.steps.map((st: { stepId: string; entered: number }) => [st.stepId, st.entered]),
      ),
    ).toEqual({ a: 1, d: 1, b: 1 });
    const totals = (
      await call(
        "GET",
        `/v1/analytics/metrics?workflowId=${w.id}&metrics=enrolled,completed&timezone=UTC`,
        { key },
      )
    ).json.totals;
    expect(totals).toEqual({ enrolled: 1, completed: 1 });
  });
});
