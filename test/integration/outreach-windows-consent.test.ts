import { afterEach, describe, expect, it, vi } from "vitest";
import { activeWorkflow, call, expectError, newOrg, poll } from "../helpers/api";
import { DB } from "../helpers/db";
import { settle } from "../helpers/enrollments";
import { enroll, outbox } from "../helpers/outreach";

afterEach(() => vi.restoreAllMocks());

describe("windows, contacts and variables", () => {
  it("SMS waits for the call window (default 08:00–21:00 local); email keeps its own window", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [{ id: "t", type: "send_sms", config: { body: "Hello" } }]);
    // A zone where it is now between 21:00 and 08:00.
    const hour = new Date().getUTCHours();
    let offset = (2 - hour + 24) % 24; // local 02:xx at UTC+offset
    if (offset > 12) {
      offset -= 24;
    }
    // Etc/GMT zones name the offset with the opposite sign (Etc/GMT-3 is UTC+3).
    const zone = `Etc/GMT${offset > 0 ? "-" : "+"}${Math.abs(offset)}`;
    const res = await enroll(key, w.id, { phone: "+14155550160", timezone: zone });
    const waiting = await settle(key, res.json.id);
    expect(waiting.status).toBe("waiting");
    const opens = Date.parse(waiting.nextRunAt);
    expect(
      new Intl.DateTimeFormat("en-GB", {
        timeZone: zone,
        hour: "2-digit",
        minute: "2-digit",
      }).format(opens),
    ).toBe("08:00");
    expect(await outbox(key, "sms")).toEqual([]);
    // A window outside 08:00–21:00 is refused at save.
    expectError(
      await call("PATCH", `/v1/workflows/${w.id}`, {
        key,
        body: { callWindow: { days: ["mon"], start: "07:00", end: "20:00" } },
      }),
      422,
      "validation_failed",
    );
    const ok = await call("PATCH", `/v1/workflows/${w.id}`, {
      key,
      body: { callWindow: { days: ["mon", "tue"], start: "10:00", end: "16:00" } },
    });
    expect(ok.status).toBe(200);
    expect(ok.json.callWindow).toEqual({ days: ["mon", "tue"], start: "10:00", end: "16:00" });
  });

  it("a contact known by phone alone: unique per org, found again by its phone, name split", async () => {
    const { key } = await newOrg();
    const a = await call("POST", "/v1/contacts", {
      key,
      body: { phone: "+442071838750", name: "Ada King Lovelace" },
    });
    expect(a.status).toBe(201);
    expect(a.json).toMatchObject({ email: null, firstName: "Ada", lastName: "King Lovelace" });
    const again = await call("POST", "/v1/contacts", {
      key,
      body: { phone: "+442071838750", data: { x: 1 } },
    });
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(a.json.id);
    // Given names win over the split.
    const b = await call("POST", "/v1/contacts", {
      key,
      body: { phone: "+14155550170", name: "Bo Diddley", firstName: "Ellas" },
    });
    expect(b.json).toMatchObject({ firstName: "Ellas", lastName: "Diddley" });
    // Another contact cannot take that phone.
    expectError(
      await call("POST", "/v1/contacts", {
        key,
        body: { email: "c@x.test", phone: "+14155550170" },
      }),
      409,
      "conflict",
    );
    expectError(
      await call("POST", "/v1/contacts", { key, body: { firstName: "Nobody" } }),
      422,
      "validation_failed",
    );
    // Enrolling by phone finds the same contact; its zone comes from the number.
    const w = await activeWorkflow(key, [{ id: "l", type: "log", config: { message: "hi" } }]);
    const e = await enroll(key, w.id, { phone: "+442071838750" });
    expect(e.status).toBe(201);
    expect(e.json.contactId).toBe(a.json.id);
    expect(e.json.timezone).toBe("Europe/London");
    // Another org may have the same phone.
    const other = await newOrg("Other");
    expect(
      (await call("POST", "/v1/contacts", { key: other.key, body: { phone: "+442071838750" } }))
        .status,
    ).toBe(201);
  });

  it("requiredVariables: 422 missing_variables naming them; bulk rows invalid", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [{ id: "l", type: "log", config: { message: "hi" } }], {
      requiredVariables: ["company", "account_id"],
    });
    expect(w).toMatchObject({ requiredVariables: ["company", "account_id"] });
    const missing = await enroll(
      key,
      w.id,
      { email: "rv@x.test" },
      { variables: { company: "Acme", account_id: "" } },
    );
    expectError(missing, 422, "missing_variables");
    expect(missing.json.message).toContain("account_id");
    expect(missing.json.details).toEqual([{ path: "variables.account_id", message: "Required" }]);
    const ok = await enroll(
      key,
      w.id,
      { email: "rv@x.test" },
      { variables: { company: "Acme", account_id: 7 } },
    );
    expect(ok.status).toBe(201);
    const bulk = await call("POST", "/v1/enrollments/bulk", {
      key,
      body: {
        workflowId: w.id,
        contacts: [{ email: "rv2@x.test" }],
        variables: { company: "Acme" },
      },
    });
    expectError(bulk, 422, "no_enrollments_created");
    expect(bulk.json.results[0]).toMatchObject({ status: "invalid" });
    expect(bulk.json.results[0].reason).toContain("account_id");
  });

  it("a contact without a phone: SMS and call steps are suppressed", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [
      { id: "t", type: "send_sms", config: { body: "x" } },
      { id: "c", type: "call", config: { script: "x" } },
    ]);
    const e = await enroll(key, w.id, { email: "nophone@x.test" }, { bypassCallWindow: true });
    const done = await settle(key, e.json.id);
    expect(done.status).toBe("completed");
    expect(
      done.timeline
        .filter((l: { status: string }) => l.status === "skipped")
        .map((l: { outcome: string }) => l.outcome),
    ).toEqual(["suppressed", "suppressed"]);
  });
});

describe("consent per channel", () => {
  it("an email bounce suppresses email only: the same contact still gets its SMS", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [
      { id: "m", type: "send_email", config: { subject: "Hi", html: "<p>Hi</p>" } },
      { id: "t", type: "send_sms", config: { body: "Hi by text" } },
    ]);
    const c = (
      await call("POST", "/v1/contacts", {
        key,
        body: { email: "bounced@x.test", phone: "+14155550179" },
      })
    ).json;
    await DB.prepare("update contacts set suppressed = 'bounced' where id = ?").bind(c.id).run();
    const e = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: w.id, contactId: c.id, bypassCallWindow: true },
    });
    const done = await settle(key, e.json.id);
    expect(
      done.timeline
        .filter((l: { status: string }) => l.status === "completed" || l.status === "skipped")
        .map((l: { stepId: string; outcome: string }) => `${l.stepId}:${l.outcome}`),
    ).toEqual(["m:suppressed", "t:sent"]);
    await poll(
      () => outbox(key, "sms", "+14155550179"),
      (o) => o.length === 1,
    );
  });
});
