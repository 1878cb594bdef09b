// One trace across hops: the log lines of one send — the enrollment queueing its effect, the
// message consumer taking it, the provider call, the settle, and the webhook delivery of its
// email.sent event — all carry the effect key as their trace, so they can be joined.
import { afterEach, describe, expect, it, vi } from "vitest";
import { activeWorkflow, call, newOrg, poll } from "../helpers/api";
import { settle } from "../helpers/enrollments";

afterEach(() => vi.restoreAllMocks());

type Line = Record<string, unknown> & { msg: string; trace?: string };

/** Every JSON line the logger writes (it writes through console), parsed, while the test runs. */
function captureLogs(): Line[] {
  const lines: Line[] = [];
  const keep = (raw: unknown) => {
    if (typeof raw !== "string" || !raw.startsWith("{")) {
      return;
    }
    try {
      lines.push(JSON.parse(raw) as Line);
    } catch {
      // Not one of the logger's lines (another library's output): not ours to join.
    }
  };
  for (const method of ["log", "warn", "error"] as const) {
    vi.spyOn(console, method).mockImplementation((raw: unknown) => keep(raw));
  }
  return lines;
}

describe("one trace across hops", () => {
  it("joins an email's lines from its enrollment to its provider call and webhook delivery", async () => {
    const { key } = await newOrg();
    const url = `https://hooks.acme.test/${crypto.randomUUID()}`;
    // The customer's endpoint answers every delivery (other URLs too: earlier tests' retries).
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("ok"));
    const hook = await call("POST", "/v1/webhooks", { key, body: { url, events: ["email.sent"] } });
    expect(hook.status).toBe(201);
    const w = await activeWorkflow(key, [
      { id: "m", type: "send_email", config: { subject: "Traced", html: "<p>x</p>" } },
    ]);
    const lines = captureLogs();
    const e = (
      await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: w.id, contact: { email: "traced@x.co" } },
      })
    ).json;
    await settle(key, e.id);
    const trace = `${e.id}:m:1`;
    const ofSend = (msg: string) => lines.filter((l) => l.msg === msg && l.trace === trace);
    await poll(
      async () => ofSend("webhook delivery"),
      (found) => found.length > 0,
    );
    expect(ofSend("effect queued")).toHaveLength(1);
    expect(ofSend("consumed")[0]).toMatchObject({ channel: "email", queue: "nudge-messages" });
    const [provider] = ofSend("provider call");
    expect(provider).toMatchObject({ provider: "outbox" });
    expect(ofSend("sent")[0]).toMatchObject({ messageId: provider.messageId });
    expect(ofSend("webhook delivery")[0]).toMatchObject({ eventType: "email.sent", status: 200 });
    // Nothing of this send logged under another trace.
    const messageId = provider.messageId;
    expect(lines.filter((l) => l.messageId === messageId).every((l) => l.trace === trace)).toBe(
      true,
    );
  });
});
