import { describe, expect, it } from "vitest";
import { call, expectError, newOrg } from "../helpers/api";

const logStep = (message: string, id?: string) => ({
  ...(id ? { id } : {}),
  type: "log",
  config: { message },
});

describe("workflows", () => {
  it("creates a draft, links steps in array order, and serves it back", async () => {
    const { key } = await newOrg();
    const res = await call("POST", "/v1/workflows", {
      key,
      body: {
        name: "Welcome",
        trigger: { type: "event", event: "signed_up" },
        steps: [logStep("a", "a"), logStep("b")],
      },
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      status: "draft",
      version: 1,
      trigger: { type: "event", event: "signed_up" },
      allowReentry: false,
      exitOn: [],
    });
    expect(res.json.steps[1].id).toMatch(/^stp_/);
    expect(res.json.transitions).toEqual([
      expect.objectContaining({ from: "a", to: res.json.steps[1].id }),
    ]);
    expect(res.json.transitions[0].id).toMatch(/^trn_/);
    const got = await call("GET", `/v1/workflows/${res.json.id}`, { key });
    expect(got.json).toEqual(res.json);
  });

  it("moves through the status lifecycle and refuses changes once archived", async () => {
    const { key } = await newOrg();
    const w = (
      await call("POST", "/v1/workflows", { key, body: { name: "L", steps: [logStep("a")] } })
    ).json;
    for (const status of ["active", "paused", "active", "archived"]) {
      const res = await call("PATCH", `/v1/workflows/${w.id}`, { key, body: { status } });
      expect(res.status).toBe(200);
      expect(res.json.status).toBe(status);
    }
    expectError(
      await call("PATCH", `/v1/workflows/${w.id}`, { key, body: { name: "x" } }),
      422,
      "workflow_archived",
    );
  });

  it("refuses to activate a workflow with no steps", async () => {
    const { key } = await newOrg();
    const w = (await call("POST", "/v1/workflows", { key, body: { name: "Empty" } })).json;
    expectError(
      await call("PATCH", `/v1/workflows/${w.id}`, { key, body: { status: "active" } }),
      422,
      "invalid_graph",
    );
  });

  it.each([
    ["an unknown step type", { steps: [{ type: "teleport", config: {} }] }, "steps.0.type"],
    [
      "a bad config",
      { steps: [{ type: "delay", config: { amount: "soon", unit: "days" } }] },
      "steps.0.config.amount",
    ],
    [
      "a dangling transition",
      { steps: [logStep("x", "a")], transitions: [{ from: "a", to: "zz" }] },
      "transitions.0.to",
    ],
    [
      "an unreachable step",
      { steps: [logStep("x", "a"), logStep("y", "b")], transitions: [] },
      "steps.1",
    ],
    [
      "a cycle with no wait",
      {
        steps: [logStep("x", "a"), logStep("y", "b")],
        transitions: [
          { from: "a", to: "b" },
          { from: "b", to: "a" },
        ],
      },
      "transitions",
    ],
    [
      "an outcome the step cannot produce",
      {
        steps: [logStep("x", "a"), logStep("y", "b")],
        transitions: [{ from: "a", to: "b", on: "sent" }],
      },
      "transitions.0.on",
    ],
    [
      "a missing template",
      { steps: [{ type: "send_email", config: { templateId: "tpl_nope" } }] },
      "steps.0.config.templateId",
    ],
  ])("answers 422 invalid_graph for %s", async (_name, body, path) => {
    const { key } = await newOrg();
    const res = await call("POST", "/v1/workflows", { key, body: { name: "Bad", ...body } });
    expectError(res, 422, "invalid_graph");
    expect(res.json.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it("records an immutable version for every graph change, via the body and the sub-resources", async () => {
    const { key } = await newOrg();
    const w = (
      await call("POST", "/v1/workflows", {
        key,
        body: { name: "V", steps: [logStep("one", "s1")] },
      })
    ).json;
    const added = await call("POST", `/v1/workflows/${w.id}/steps`, {
      key,
      body: { id: "s2", type: "log", config: { message: "two" }, autoConnect: true },
    });
    expect(added.status).toBe(201);
    expect(added.json.version).toBe(2);
    expect(added.json.transitions).toEqual([expect.objectContaining({ from: "s1", to: "s2" })]);
    const patched = await call("PATCH", `/v1/workflows/${w.id}/steps/s2`, {
      key,
      body: { config: { message: "TWO" } },
    });
    expect(patched.json.version).toBe(3);
    const t = await call("POST", `/v1/workflows/${w.id}/steps`, {
      key,
      body: { id: "s3", type: "log", config: { message: "three" } },
    });
    expectError(t, 422, "invalid_graph"); // unreachable without a transition
    const renamed = await call("PATCH", `/v1/workflows/${w.id}`, {
      key,
      body: { description: "no graph change" },
    });
    expect(renamed.json.version).toBe(3);
    const removed = await call(
      "DELETE",
      `/v1/workflows/${w.id}/transitions/${patched.json.transitions[0].id}`,
      { key },
    );
    expectError(removed, 422, "invalid_graph");
    const delStep = await call("DELETE", `/v1/workflows/${w.id}/steps/s2`, { key });
    expect(delStep.status).toBe(204);
    const versions = await call("GET", `/v1/workflows/${w.id}/versions`, { key });
    expect(versions.json.data.map((v: { version: number }) => v.version)).toEqual([4, 3, 2, 1]);
    expect(versions.json.data[3].definition.steps).toHaveLength(1);
    expect(versions.json.data[1].definition.steps[1].config.message).toBe("TWO");
  });

  it("changes only what a step PATCH gives: a new name keeps the config", async () => {
    const { key } = await newOrg();
    const w = (
      await call("POST", "/v1/workflows", {
        key,
        body: {
          name: "R",
          steps: [{ id: "d", type: "delay", config: { until: "2030-01-01T00:00:00Z" } }],
        },
      })
    ).json;
    const renamed = await call("PATCH", `/v1/workflows/${w.id}/steps/d`, {
      key,
      body: { name: "Wait for launch", position: { x: 10, y: 20 } },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.json.steps[0]).toEqual({
      id: "d",
      type: "delay",
      name: "Wait for launch",
      config: { until: "2030-01-01T00:00:00Z" },
      position: { x: 10, y: 20 },
    });
  });

  it("adds a transition as a new version, and refuses one that breaks the graph", async () => {
    const { key } = await newOrg();
    const w = (
      await call("POST", "/v1/workflows", {
        key,
        body: {
          name: "T",
          steps: [
            {
              id: "c",
              type: "condition",
              config: { field: "contact.data.plan", operator: "equals", value: "pro" },
            },
            logStep("pro", "p"),
            logStep("free", "f"),
          ],
          transitions: [
            { from: "c", to: "p", on: "true" },
            { from: "p", to: "f" },
          ],
        },
      })
    ).json;
    expect(w.version).toBe(1);
    expectError(
      await call("POST", `/v1/workflows/${w.id}/transitions`, {
        key,
        body: { from: "c", to: "nope" },
      }),
      422,
      "invalid_graph",
    );
    const added = await call("POST", `/v1/workflows/${w.id}/transitions`, {
      key,
      body: { id: "to-free", from: "c", to: "f", on: "false", priority: 2 },
    });
    expect(added.status).toBe(201);
    expect(added.json.version).toBe(2);
    expect(added.json.transitions).toContainEqual({
      id: "to-free",
      from: "c",
      to: "f",
      on: "false",
      priority: 2,
    });
    expectError(
      await call("POST", `/v1/workflows/${w.id}/transitions`, {
        key,
        body: { id: "to-free", from: "c", to: "p" },
      }),
      409,
      "conflict",
    );
    expectError(
      await call("POST", `/v1/workflows/${w.id}/transitions`, {
        key,
        body: { from: "c", to: "f", on: "maybe" },
      }),
      422,
      "invalid_graph",
    );
    const versions = (await call("GET", `/v1/workflows/${w.id}/versions`, { key })).json.data;
    expect(versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
  });

  it.each(["%00garbage", "garbage", "!!!", btoa("0"), btoa("-1"), btoa("1e3"), "%F0%9F%92%A5"])(
    "answers a bad versions cursor (%s) with 422, never a 500",
    async (cursor) => {
      const { key } = await newOrg();
      const w = (
        await call("POST", "/v1/workflows", {
          key,
          body: { name: "C", steps: [logStep("a", "s1")] },
        })
      ).json;
      expectError(
        await call("GET", `/v1/workflows/${w.id}/versions?cursor=${cursor}`, { key }),
        422,
        "validation_failed",
      );
    },
  );

  it("serves the step catalog with JSON Schemas", async () => {
    const { key } = await newOrg();
    const res = await call("GET", "/v1/workflows/step-types", { key });
    expect(res.status).toBe(200);
    const types = res.json.map((t: { type: string }) => t.type);
    expect(types).toEqual([
      "send_email",
      "send_sms",
      "call",
      "task",
      "delay",
      "wait_for_event",
      "condition",
      "split",
      "webhook",
      "update_contact",
      "agent",
      "score_lead",
      "exit",
      "log",
    ]);
    const delay = res.json.find((t: { type: string }) => t.type === "delay");
    expect(delay.outcomes).toEqual(["done"]);
    expect(JSON.stringify(delay.configSchema)).toContain("untilLocalTime");
    expect(res.json.find((t: { type: string }) => t.type === "wait_for_event").outcomes).toEqual([
      "event",
      "timeout",
    ]);
  });

  it("dry-runs with the fixture merge and a trace", async () => {
    const { key } = await newOrg();
    const tpl = (
      await call("POST", "/v1/templates", {
        key,
        body: { name: "T", subject: "Welcome aboard", html: "<p>x</p>" },
      })
    ).json;
    const w = (
      await call("POST", "/v1/workflows", {
        key,
        body: {
          name: "D",
          steps: [
            { type: "send_email", config: { templateId: tpl.id } },
            { type: "delay", config: { amount: 2, unit: "days" } },
            { type: "update_contact", config: { data: { stage: "warm" } } },
          ],
        },
      })
    ).json;
    const res = await call("POST", `/v1/workflows/${w.id}/test`, {
      key,
      body: {
        fixtureProfile: "demo",
        sampleData: { firstName: "Grace" },
        startAt: "2026-03-09T14:00:00Z",
        timezone: "America/New_York",
      },
    });
    expect(res.status).toBe(200);
    expect(res.json.testFixtureProfile).toBe("demo");
    expect(res.json.sampleData).toMatchObject({
      firstName: "Grace",
      lastName: "Lovelace",
      company: "Analytical Engines Ltd",
      stage: "warm",
    });
    expect(res.json.trace[0]).toMatchObject({
      type: "send_email",
      outcome: "sent",
      message: '[test] Would send "Welcome aboard" to ada@example.com',
      simulatedAt: "2026-03-09T14:00:00.000Z",
    });
    expect(res.json.finalStatus).toBe("completed");
    expect((await call("GET", "/v1/outbox", { key })).json.data).toEqual([]);
  });

  it("keeps workflows to their org", async () => {
    const a = await newOrg("A");
    const b = await newOrg("B");
    const w = (
      await call("POST", "/v1/workflows", {
        key: a.key,
        body: { name: "W", steps: [logStep("a", "s1")] },
      })
    ).json;
    for (const [method, path, body] of [
      ["GET", `/v1/workflows/${w.id}`],
      ["PATCH", `/v1/workflows/${w.id}`, { name: "x" }],
      ["DELETE", `/v1/workflows/${w.id}`],
      ["POST", `/v1/workflows/${w.id}/steps`, { type: "log", config: { message: "x" } }],
      ["PATCH", `/v1/workflows/${w.id}/steps/s1`, { name: "x" }],
      ["GET", `/v1/workflows/${w.id}/versions`],
      ["POST", `/v1/workflows/${w.id}/test`, {}],
      ["GET", `/v1/workflows/${w.id}/enrollments`],
      ["GET", `/v1/workflows/${w.id}/stats`],
      ["POST", `/v1/workflows/${w.id}/transitions`, { from: "s1", to: "s1" }],
      ["DELETE", `/v1/workflows/${w.id}/steps/s1`],
      ["DELETE", `/v1/workflows/${w.id}/transitions/t1`],
    ] as [string, string, unknown?][]) {
      expectError(await call(method, path, { key: b.key, body }), 404, "not_found");
    }
    // A's workflow is untouched by B's PATCH and DELETEs.
    expect((await call("GET", `/v1/workflows/${w.id}`, { key: a.key })).json).toMatchObject({
      id: w.id,
      name: "W",
      version: 1,
      steps: [{ id: "s1" }],
    });
  });
});
