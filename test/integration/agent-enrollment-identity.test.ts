import { describe, expect, it } from "vitest";
import { activeWorkflow, call, newOrg, poll } from "../helpers/api";
import { DB } from "../helpers/db";
import { settle } from "../helpers/enrollments";
import { consume } from "../helpers/queues";

const finished = (key: string, agentId: string, id: string) =>
  poll(
    async () => (await call("GET", `/v1/agents/${agentId}/executions/${id}`, { key })).json,
    (x) => ["succeeded", "failed", "cancelled"].includes(x?.status),
  );

/**
 * The execution as a crash left it: enrolled, but its result never written, and its lease
 * lapsed (started a day ago), so the next delivery of its job takes it up again.
 */
const crashAfterEnrolling = (id: string) =>
  DB.prepare(
    "UPDATE agent_executions SET status = 'running', output = NULL, enrollment_id = NULL, finished_at = NULL, started_at = started_at - 86400000 WHERE id = ?",
  )
    .bind(id)
    .run();

async function workflowAgent(steps: unknown[]) {
  const { key, orgId } = await newOrg();
  const wf = await activeWorkflow(key, steps);
  const a = await call("POST", "/v1/agents", {
    key,
    body: { name: "Signup", type: "workflow", workflowId: wf.id },
  });
  expect(a.status, a.text).toBe(201);
  const x = await call("POST", `/v1/agents/${a.json.id}/execute`, {
    key,
    body: { input: { contact: { email: "ada@example.com" }, variables: { plan: "pro" } } },
  });
  const first = await finished(key, a.json.id, x.json.id);
  expect(first.status).toBe("succeeded");
  return { key, orgId, workflowId: wf.id, agentId: a.json.id as string, first };
}

const enrollmentsOf = async (key: string, workflowId: string) =>
  (await call("GET", `/v1/enrollments?workflowId=${workflowId}`, { key })).json.data as {
    id: string;
  }[];

describe("a workflow agent's execution, run again", () => {
  it("while its enrollment is still waiting: the same enrollment, and only one", async () => {
    const { key, orgId, workflowId, agentId, first } = await workflowAgent([
      { id: "d", type: "delay", config: { amount: 1, unit: "days" } },
    ]);
    expect((await settle(key, first.enrollmentId)).status).toBe("waiting");
    await crashAfterEnrolling(first.id);
    await consume("nudge-agent", [{ kind: "run", orgId, executionId: first.id }], 2);
    const again = await finished(key, agentId, first.id);
    expect(again, JSON.stringify(again.error)).toMatchObject({
      status: "succeeded",
      enrollmentId: first.enrollmentId,
    });
    expect((await enrollmentsOf(key, workflowId)).map((e) => e.id)).toEqual([first.enrollmentId]);
  });

  it("after its enrollment has completed: the same enrollment, not a refused re-entry", async () => {
    const { key, orgId, workflowId, agentId, first } = await workflowAgent([
      { id: "l", type: "log", config: { message: "hello" } },
    ]);
    expect((await settle(key, first.enrollmentId)).status).toBe("completed");
    await crashAfterEnrolling(first.id);
    await consume("nudge-agent", [{ kind: "run", orgId, executionId: first.id }], 2);
    const again = await finished(key, agentId, first.id);
    expect(again, JSON.stringify(again.error)).toMatchObject({
      status: "succeeded",
      enrollmentId: first.enrollmentId,
    });
    expect((await enrollmentsOf(key, workflowId)).map((e) => e.id)).toEqual([first.enrollmentId]);
  });
});
