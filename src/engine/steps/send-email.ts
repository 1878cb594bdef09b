// send_email: queue an email (template or inline), inside the send window, unless suppressed.
import { SendEmailConfig } from "../email";
import { consentRefusal, governSend } from "../governance";
import { nextWindowOpen } from "../schedule";
import { defineStep, type StepContext, type StepResult, windowWait } from "./step";

function send(config: SendEmailConfig, ctx: StepContext): StepResult {
  const { state, def, now } = ctx;
  const window = def.sendWindow;
  if (window && !state.bypassSendWindow) {
    const outside = windowWait(ctx, nextWindowOpen(now, state.timezone, window), "send window");
    if (outside) {
      return outside;
    }
  }
  const c = state.contact;
  const category = config.category ?? def.category ?? "marketing";
  // A bounce or complaint stops every email; an unsubscribe stops marketing only.
  if (c.suppressed || (c.subscribed === false && category === "marketing")) {
    const why = c.suppressed ? `suppressed (${c.suppressed})` : "unsubscribed";
    return { kind: "outcome", outcome: "suppressed", message: `Not sent: the contact is ${why}` };
  }
  if (!c.email) {
    return {
      kind: "outcome",
      outcome: "suppressed",
      message: "Not sent: the contact has no email address",
    };
  }
  const refused = consentRefusal(c, category, config.topic, ctx.opts.sending?.topics);
  if (refused) {
    return { kind: "outcome", outcome: "suppressed", message: `Not sent: ${refused}` };
  }
  const governed = governSend(ctx, "email", category, Boolean(window) || state.bypassSendWindow);
  if (governed) {
    return governed;
  }
  const what = "templateId" in config ? `template ${config.templateId}` : `"${config.subject}"`;
  return {
    kind: "outcome",
    outcome: "sent",
    message: `Email ${what} queued`,
    effects: [
      {
        type: "send_email",
        key: ctx.key,
        stepId: ctx.step.id,
        config: {
          ...config,
          category,
          ...(def.connectionPool && !config.connectionId && !config.connectionPool
            ? { connectionPool: def.connectionPool }
            : {}),
        },
      },
    ],
  };
}

export default defineStep<SendEmailConfig>({
  type: "send_email",
  description:
    "Send an email from a template (or inline subject/html), honouring the send window, suppression and tracking settings. Marketing email (the default `category`) also honours unsubscribes, the org's quiet hours (when the workflow has no send window) and frequency caps: over a cap the step waits for room, or takes outcome `capped` when the workflow's `onCap` is `skip`.",
  config: SendEmailConfig,
  outcomes: () => ["sent", "suppressed", "capped"],
  pauses: () => false,
  execute: send,
  resume: (config, ctx, wait, input) =>
    input.type === "wake" && wait.until != null && ctx.now >= wait.until ? send(config, ctx) : null,
});
