// A text is at most 1,600 characters after rendering: a short template that renders longer is
// refused when the step runs (nothing reaches the outbox); exactly 1,600 goes.
import { describe, expect, it } from "vitest";
import { activeWorkflow, call, newOrg, poll } from "../helpers/api";
import { settle } from "../helpers/enrollments";

const texts = async (key: string) =>
  (await call("GET", "/v1/outbox?channel=sms", { key })).json.data as { text: string }[];

async function textOf(length: number) {
  const { key } = await newOrg();
  const w = await activeWorkflow(key, [
    { id: "t", type: "send_sms", config: { body: "{{ vars.note }}" } },
  ]);
  const e = await call("POST", "/v1/enrollments", {
    key,
    body: {
      workflowId: w.id,
      contact: { phone: "+14155550191" },
      variables: { note: "x".repeat(length) },
      bypassCallWindow: true,
    },
  });
  expect(e.status, e.text).toBe(201);
  return { key, done: await settle(key, e.json.id) };
}

describe("an SMS body's length after rendering", () => {
  it("1,601 characters: the step fails saying so, and no text is sent", async () => {
    const { key, done } = await textOf(1601);
    expect(done.status).toBe("failed");
    expect(JSON.stringify(done)).toContain(
      "The SMS is 1601 characters after rendering; at most 1600 are sent",
    );
    expect(await texts(key)).toEqual([]);
  });

  it("1,600 characters: sent whole", async () => {
    const { key, done } = await textOf(1600);
    expect(done.status).toBe("completed");
    const sent = await poll(
      () => texts(key),
      (t) => t.length > 0,
    );
    expect(sent.map((t) => t.text.length)).toEqual([1600]);
  });
});
