import { afterEach, describe, expect, it, vi } from "vitest";
import { activeWorkflow, call, expectError, newOrg, poll } from "../helpers/api";
import { DB } from "../helpers/db";
import { enrollment, expireWait, settle } from "../helpers/enrollments";
import { enroll, outbox, waitFor } from "../helpers/outreach";

afterEach(() => vi.restoreAllMocks());

describe("tasks", () => {
  it("lists by filters, skips, and expires past due (the step takes timeout)", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(
      key,
      [
        {
          id: "li",
          type: "task",
          config: {
            taskType: "linkedin",
            title: "Connect with {{ contact.firstName }}",
            dueIn: 3600,
            assignee: "ana",
          },
        },
        { id: "late", type: "log", config: { message: "expired" } },
        { id: "skip", type: "log", config: { message: "skipped" } },
      ],
      {
        transitions: [
          { from: "li", to: "late", on: "timeout" },
          { from: "li", to: "skip", on: "skipped" },
        ],
      },
    );
    const one = (await enroll(key, w.id, { email: "t1@x.test", firstName: "Tia" })).json.id;
    const two = (await enroll(key, w.id, { email: "t2@x.test", firstName: "Tom" })).json.id;
    await settle(key, one);
    await settle(key, two);
    const list = await poll(
      async () =>
        (await call("GET", "/v1/tasks?taskType=linkedin&assignee=ana", { key })).json.data,
      (d: any[]) => d.length === 2,
    );
    const byEnrollment = (id: string) =>
      list.find((t: { enrollmentId: string }) => t.enrollmentId === id);
    expect((await call("GET", "/v1/tasks?assignee=bob", { key })).json.data).toEqual([]);
    expect((await call("GET", `/v1/tasks/${byEnrollment(one).id}`, { key })).json.title).toBe(
      "Connect with Tia",
    );
    const skipped = await call("POST", `/v1/tasks/${byEnrollment(one).id}/skip`, {
      key,
      body: { note: "no profile" },
    });
    expect(skipped.json).toMatchObject({ status: "skipped", outcome: "skipped" });
    expect((await waitFor(key, one, (e) => e.status === "completed")).currentStepId).toBe("skip");
    // The other expires: its due time passes.
    await expireWait(two);
    expect((await waitFor(key, two, (e) => e.status === "completed")).currentStepId).toBe("late");
    await DB.prepare("update tasks set due_at = ? where id = ?")
      .bind(Date.now() - 1, byEnrollment(two).id)
      .run();
    const expired = await call("GET", `/v1/tasks/${byEnrollment(two).id}`, { key });
    expect(expired.json).toMatchObject({ status: "expired", outcome: "timeout" });
    expect(
      (await call("GET", "/v1/tasks?status=expired", { key })).json.data.map(
        (t: { id: string }) => t.id,
      ),
    ).toEqual([byEnrollment(two).id]);
    expectError(
      await call("POST", `/v1/tasks/${byEnrollment(two).id}/complete`, { key, body: {} }),
      409,
      "task_closed",
    );
    // Another org sees none of them.
    const other = await newOrg("Other");
    expectError(
      await call("GET", `/v1/tasks/${byEnrollment(two).id}`, { key: other.key }),
      404,
      "not_found",
    );
  });
});

describe("erasure", () => {
  it("erasing a contact clears its texts, call scripts and task titles (rendered from its fields)", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [
      { id: "t", type: "send_sms", config: { body: "Hi {{ contact.firstName }}" } },
      {
        id: "k",
        type: "task",
        config: { taskType: "custom", title: "Visit {{ contact.firstName }}", dueIn: 3600 },
      },
    ]);
    const e = await enroll(
      key,
      w.id,
      { phone: "+14155550177", firstName: "Erin" },
      { bypassCallWindow: true },
    );
    const [task] = await poll(
      async () => (await call("GET", "/v1/tasks", { key })).json.data,
      (d: any[]) => d.length === 1,
    );
    expect(task.title).toBe("Visit Erin");
    const [msg] = await poll(
      async () => (await enrollment(key, e.json.id)).messages,
      (m: any[]) => m[0]?.status === "sent",
    );
    expect(msg.body).toBe("Hi Erin");
    expect((await call("DELETE", `/v1/contacts/${e.json.contactId}`, { key })).status).toBe(204);
    expect((await call("GET", `/v1/tasks/${task.id}`, { key })).json).toMatchObject({
      title: "(erased)",
      instructions: null,
    });
    expect((await call("GET", `/v1/messages/${msg.id}`, { key })).json).toMatchObject({
      to: "",
      body: null,
    });
    expect(await outbox(key, "sms")).toEqual([]);
  });

  it("a CSV import takes a full name and a phone as the contact's identity", async () => {
    const { key } = await newOrg();
    const csv = "phone,name,company\n+14155550178,Grace Brewster Hopper,Navy\n";
    const res = await call("POST", "/v1/imports", {
      key,
      raw: csv,
      headers: { "content-type": "text/csv" },
    });
    expect(res.status).toBe(202);
    await poll(
      async () => (await call("GET", `/v1/imports/${res.json.id}`, { key })).json.status,
      (s) => s === "completed",
    );
    const list = (await call("GET", "/v1/contacts", { key })).json.data;
    expect(list[0]).toMatchObject({
      phone: "+14155550178",
      firstName: "Grace",
      lastName: "Brewster Hopper",
      data: { company: "Navy" },
    });
  });
});
