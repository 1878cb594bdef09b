// call: place a phone call (Twilio Voice, a voice agent, or the outbox) inside the call window
// and wait for its outcome: answered, voicemail, no_answer, busy, failed — or timeout.
import { CALL_OUTCOMES, CallConfig } from "../outreach";
import { callWindowOpen } from "../schedule";
import { renderString } from "../templates";
import { defineStep, type StepContext, type StepResult, windowWait } from "./step";

const DEFAULT_TIMEOUT_S = 3600;

function place(config: CallConfig, ctx: StepContext): StepResult {
  const { state, now } = ctx;
  const outside = windowWait(ctx, callWindowOpen(now, state, ctx.def), "call window");
  if (outside) {
    return outside;
  }
  const c = state.contact;
  if (!c.phone) {
    return {
      kind: "outcome",
      outcome: "suppressed",
      message: "Not called: the contact has no phone number",
    };
  }
  if (c.consent === "pending") {
    return {
      kind: "outcome",
      outcome: "suppressed",
      message: "Not called: the contact has not confirmed its subscription (double opt-in)",
    };
  }
  const rendered: CallConfig = {
    ...config,
    ...(config.script ? { script: renderString(config.script, ctx.scope) } : {}),
  };
  const effect = {
    type: "place_call" as const,
    key: ctx.key,
    stepId: ctx.step.id,
    config: rendered,
  };
  if (ctx.opts.skipDelays) {
    return {
      kind: "outcome",
      outcome: "timeout",
      message: "[test] No call outcomes in a dry run: timed out",
      effects: [effect],
    };
  }
  const until = now + (config.timeout ?? DEFAULT_TIMEOUT_S) * 1000;
  return {
    kind: "wait",
    wait: { kind: "outcome", stepId: ctx.step.id, until, key: ctx.key },
    message: `Calling ${c.phone}; waiting for the outcome until ${new Date(until).toISOString()}`,
    effects: [effect],
  };
}

export default defineStep<CallConfig>({
  type: "call",
  description:
    "Place a phone call through the org's call connection (Twilio Voice with `script` or `twimlUrl`, or a voice agent with `agent.assistantId`), else the outbox, where the outcome is recorded by hand (POST /v1/outbox/{id}/outcome). Placed only inside the call window (default 08:00–21:00 in the contact's time zone). Waits for the outcome: `answered`, `voicemail`, `no_answer`, `busy`, `failed`, or `timeout` when none arrives within `timeout` seconds; `suppressed` without a phone.",
  config: CallConfig,
  outcomes: () => [...CALL_OUTCOMES, "timeout", "suppressed"],
  pauses: () => true,
  execute: place,
  resume(config, ctx, wait, input) {
    if (wait.kind === "window") {
      return input.type === "wake" && wait.until != null && ctx.now >= wait.until
        ? place(config, ctx)
        : null;
    }
    if (input.type === "outcome" && input.key === wait.key) {
      return {
        kind: "outcome",
        outcome: input.outcome,
        message: `Call ended: ${input.outcome.replace("_", " ")}`,
      };
    }
    if (input.type === "wake" && wait.until != null && ctx.now >= wait.until) {
      return { kind: "outcome", outcome: "timeout", message: "No call outcome before the timeout" };
    }
    return null;
  },
});
