import { describe, expect, it } from "vitest";
import { activeWorkflow, call, expectError, newOrg, poll } from "../helpers/api";
import { DB } from "../helpers/db";
import { drained, enrollment, settle } from "../helpers/enrollments";
import { delay, enroll, log, mail, outboxFor } from "../helpers/journeys";

describe("what the README promises about enrollments", () => {
  it("update_contact merges templated values into the stored contact", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [
      {
        id: "u",
        type: "update_contact",
        config: { data: { stage: "{{ vars.stage }}", plan: "pro" } },
      },
    ]);
    const e = await enroll(
      key,
      w.id,
      { email: "upd@x.co", data: { plan: "free", keep: 1 } },
      { variables: { stage: "warm" } },
    );
    expect((await settle(key, e.json.id)).status).toBe("completed");
    const c = await poll(
      async () => (await call("GET", `/v1/contacts/${e.json.contactId}`, { key })).json,
      (c) => c.data.stage === "warm",
    );
    expect(c.data).toEqual({ plan: "pro", keep: 1, stage: "warm" });
  });

  it("waits for the send window when enrolled outside it, unless bypassSendWindow", async () => {
    const { key } = await newOrg();
    const now = new Date();
    const startHour = (now.getUTCHours() + 2) % 24;
    const hh = (h: number) => `${String(h).padStart(2, "0")}:00`;
    const sendWindow = {
      days: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
      start: hh(startHour),
      end: startHour === 23 ? "23:59" : hh(startHour + 1),
    };
    let opens = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), startHour);
    if (opens <= now.getTime()) {
      opens += 86_400_000;
    }
    const w = await activeWorkflow(key, [mail("Windowed", "m")], { sendWindow });
    const held = (await enroll(key, w.id, { email: "win@x.co" })).json;
    const waiting = await settle(key, held.id);
    expect(waiting).toMatchObject({
      status: "waiting",
      currentStepId: "m",
      nextRunAt: new Date(opens).toISOString(),
    });
    expect(waiting.timeline.at(-1).message).toMatch(/Outside the send window/);
    await drained(held.id);
    expect((await call("GET", `/v1/messages?enrollmentId=${held.id}`, { key })).json.data).toEqual(
      [],
    );
    const bypass = (await enroll(key, w.id, { email: "bypass@x.co" }, { bypassSendWindow: true }))
      .json;
    expect(bypass.bypassSendWindow).toBe(true);
    expect((await settle(key, bypass.id)).status).toBe("completed");
    await poll(
      () => outboxFor(key, "bypass@x.co"),
      (o) => o.length === 1,
    );
  });

  it("DELETE /v1/workflows/{id}: 409 while enrollments are active, ?force=true cancels them", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600)]);
    const e = (await enroll(key, w.id)).json;
    await settle(key, e.id);
    expectError(
      await call("DELETE", `/v1/workflows/${w.id}`, { key }),
      409,
      "workflow_has_active_enrollments",
    );
    expect((await enrollment(key, e.id)).status).toBe("waiting");
    expect((await call("DELETE", `/v1/workflows/${w.id}?force=true`, { key })).status).toBe(204);
    expect(await enrollment(key, e.id)).toMatchObject({
      status: "cancelled",
      exitReason: "workflow_deleted",
    });
    expectError(await call("GET", `/v1/workflows/${w.id}`, { key }), 404, "not_found");
    expectError(await enroll(key, w.id), 404, "not_found");
    const idle = await activeWorkflow(key, [log("x")]);
    expect((await call("DELETE", `/v1/workflows/${idle.id}`, { key })).status).toBe(204);
  });

  it("lists a contact's enrollments, newest first, with cursor paging", async () => {
    const { key } = await newOrg();
    const w1 = await activeWorkflow(key, [delay(3600)]);
    const w2 = await activeWorkflow(key, [delay(3600)]);
    const first = (await enroll(key, w1.id, { email: "many@x.co" })).json;
    const second = (await enroll(key, w2.id, { email: "many@x.co" })).json;
    await enroll(key, w1.id, { email: "other@x.co" });
    const page1 = await call("GET", `/v1/contacts/${first.contactId}/enrollments?limit=1`, { key });
    expect(page1.json.data.map((e: { id: string }) => e.id)).toEqual([second.id]);
    const page2 = await call(
      "GET",
      `/v1/contacts/${first.contactId}/enrollments?limit=1&cursor=${page1.json.nextCursor}`,
      { key },
    );
    expect(page2.json.data.map((e: { id: string }) => e.id)).toEqual([first.id]);
    expect(page2.json.nextCursor).toBeNull();
  });

  it("honours Idempotency-Key on POST /v1/enrollments and /bulk", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600)]);
    const body = { workflowId: w.id, contact: { email: "idem@x.co" } };
    const a = await call("POST", "/v1/enrollments", {
      key,
      body,
      headers: { "idempotency-key": "enr-1" },
    });
    const b = await call("POST", "/v1/enrollments", {
      key,
      body,
      headers: { "idempotency-key": "enr-1" },
    });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.json.id).toBe(a.json.id);
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    const bulkBody = { workflowId: w.id, contacts: [{ email: "b1@x.co" }, { email: "b2@x.co" }] };
    const c = await call("POST", "/v1/enrollments/bulk", {
      key,
      body: bulkBody,
      headers: { "idempotency-key": "bulk-1" },
    });
    const d = await call("POST", "/v1/enrollments/bulk", {
      key,
      body: bulkBody,
      headers: { "idempotency-key": "bulk-1" },
    });
    expect(d.json).toEqual(c.json);
    expect(d.headers.get("idempotent-replayed")).toBe("true");
    expectError(
      await call("POST", "/v1/enrollments/bulk", {
        key,
        body: { ...bulkBody, contacts: [{ email: "b3@x.co" }] },
        headers: { "idempotency-key": "bulk-1" },
      }),
      422,
      "idempotency_key_reused",
    );
    expect(
      (await call("GET", `/v1/enrollments?workflowId=${w.id}`, { key })).json.data,
    ).toHaveLength(3);
  });

  it("resumes an enrollment whose wait is not yet mirrored to D1 (an event arriving mid-run)", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(
      key,
      [
        { id: "w", type: "wait_for_event", config: { eventName: "ping", timeout: 3600 } },
        log("got it", "yes"),
      ],
      {
        transitions: [{ from: "w", to: "yes", on: "event" }],
      },
    );
    const e = (await enroll(key, w.id, { email: "midrun@x.co" })).json;
    await settle(key, e.id);
    // The object is waiting; D1 still shows it running, as between persisting the wait and mirroring it.
    await DB.prepare("UPDATE enrollments SET status = 'running', waiting_event = NULL WHERE id = ?")
      .bind(e.id)
      .run();
    const ev = await call("POST", "/v1/events?wait=true", {
      key,
      body: { name: "ping", email: "midrun@x.co" },
    });
    expect(ev.json.resumed).toEqual([e.id]);
    expect(await enrollment(key, e.id)).toMatchObject({
      status: "completed",
      currentStepId: "yes",
    });
  });
});
