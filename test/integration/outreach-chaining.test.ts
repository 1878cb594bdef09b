// Contact chaining (groupBy): one link of a chain at a time, answered calls ending the rest, and
// the watchdog starting a lost hand-over.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runWatchdog } from "../../src/watchdog";
import { activeWorkflow, call, expectError, newOrg, poll, testLog } from "../helpers/api";
import { DB } from "../helpers/db";
import { enroll, outbox } from "../helpers/outreach";

afterEach(() => vi.restoreAllMocks());

describe("contact chaining (groupBy)", () => {
  const chainFlow = (key: string) =>
    activeWorkflow(key, [
      { id: "ring", type: "call", config: { script: "Hi {{ contact.firstName }}" } },
    ]);
  const link = (key: string, workflowId: string, phone: string, account = "acme") =>
    enroll(
      key,
      workflowId,
      { phone, firstName: phone.slice(-2) },
      { bypassCallWindow: true, groupBy: "account", variables: { account } },
    );
  const chainOf = async (key: string, chainKey: string) =>
    (
      (await call("GET", `/v1/enrollments?chainKey=${chainKey}`, { key })).json.data as {
        id: string;
        status: string;
        exitReason: string | null;
        chain: { key: string; position: number; state: string };
      }[]
    ).sort((a, b) => a.chain.position - b.chain.position);
  const callTo = (key: string, phone: string) =>
    poll(
      () => outbox(key, "call", phone),
      (o) => o.length === 1,
    ).then((o) => o[0]);

  it("three contacts: no answer → the next is called; answered → the rest end chain_satisfied", async () => {
    const { key } = await newOrg();
    const w = await chainFlow(key);
    const a = await link(key, w.id, "+14155550181");
    const b = await link(key, w.id, "+14155550182");
    const c = await link(key, w.id, "+14155550183");
    expect([a.status, b.status, c.status]).toEqual([201, 201, 201]);
    expect(a.json.chain).toEqual({ key: "acme", position: 1, state: "active" });
    expect(b.json.chain).toEqual({ key: "acme", position: 2, state: "pending" });
    expect(c.json).toMatchObject({
      status: "waiting",
      nextRunAt: null,
      chain: { position: 3, state: "pending" },
    });
    // Only the first is called.
    const first = await callTo(key, "+14155550181");
    expect(await outbox(key, "call", "+14155550182")).toEqual([]);

    await call("POST", `/v1/outbox/${first.id}/outcome`, { key, body: { outcome: "no_answer" } });
    const second = await callTo(key, "+14155550182");
    let chain = await poll(
      () => chainOf(key, "acme"),
      (l) => l[0].chain.state === "ended" && l[1].chain.state === "active",
    );
    expect(chain.map((l) => l.chain.state)).toEqual(["ended", "active", "pending"]);

    await call("POST", `/v1/outbox/${second.id}/outcome`, { key, body: { outcome: "answered" } });
    chain = await poll(
      () => chainOf(key, "acme"),
      (l) => l[2].status === "cancelled" && l[1].chain.state === "succeeded",
    );
    expect(chain.map((l) => [l.chain.state, l.status, l.exitReason])).toEqual([
      ["ended", "completed", "completed"],
      ["succeeded", "completed", "completed"],
      ["cancelled", "cancelled", "chain_satisfied"],
    ]);
    expect(await outbox(key, "call", "+14155550183")).toEqual([]);
    // A contact added to a satisfied chain ends at once; another chain is its own.
    const late = await link(key, w.id, "+14155550184");
    expect(late.json).toMatchObject({
      status: "cancelled",
      exitReason: "chain_satisfied",
      chain: { position: 4, state: "cancelled" },
    });
    const other = await link(key, w.id, "+14155550185", "initech");
    expect(other.json.chain).toEqual({ key: "initech", position: 1, state: "active" });
  });

  it("concurrent enrollments into one chain: exactly one link runs", async () => {
    const { key } = await newOrg();
    const w = await chainFlow(key);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => link(key, w.id, `+1415555019${i}`, "race")),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(201));
    const states = results.map((r) => r.json.chain.state);
    expect(states.filter((s) => s === "active")).toHaveLength(1);
    expect(states.filter((s) => s === "pending")).toHaveLength(7);
    expect(results.map((r) => r.json.chain.position).sort((x, y) => x - y)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8,
    ]);
    await poll(
      () => outbox(key, "call"),
      (o) => o.length === 1,
    );
    expect(await outbox(key, "call")).toHaveLength(1);
    // Missing the grouping variable is refused.
    const missing = await enroll(key, w.id, { phone: "+14155550199" }, { groupBy: "account" });
    expectError(missing, 422, "missing_variables");
  });

  it("a lost hand-over: the watchdog starts the next link", async () => {
    const { key } = await newOrg();
    const w = await chainFlow(key);
    await link(key, w.id, "+14155550186", "lost");
    await link(key, w.id, "+14155550187", "lost");
    const first = await callTo(key, "+14155550186");
    // The object's hand-over fails (D1 refuses its chain statements) ...
    const batch = DB.batch.bind(DB);
    const spy = vi.spyOn(DB, "batch").mockImplementation(async (stmts) => {
      if (
        stmts.some((s) => String((s as { statement?: string }).statement).includes("chain_state"))
      ) {
        throw new Error("D1 unavailable");
      }
      return batch(stmts);
    });
    await call("POST", `/v1/outbox/${first.id}/outcome`, { key, body: { outcome: "busy" } });
    await poll(
      () => chainOf(key, "lost"),
      (l) => l[0].status === "completed",
    );
    spy.mockRestore();
    expect((await chainOf(key, "lost")).map((l) => l.chain.state)).toEqual(["active", "pending"]);
    expect(await outbox(key, "call", "+14155550187")).toEqual([]);
    // ... and the watchdog, a minute later, hands it on.
    const report = await runWatchdog(env, testLog, Date.now() + 60_000);
    expect(report.chainsHandedOn).toBe(1);
    await callTo(key, "+14155550187");
    expect((await chainOf(key, "lost")).map((l) => l.chain.state)).toEqual(["ended", "active"]);
  });
});
