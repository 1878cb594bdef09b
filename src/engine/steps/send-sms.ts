// send_sms: queue a text message, inside the call window, unless the contact cannot receive one.
import { consentRefusal, governSend } from "../governance";
import { SendSmsConfig, SMS_MAX_CHARS } from "../outreach";
import { callWindowOpen } from "../schedule";
import { renderString } from "../templates";
import { defineStep, type StepContext, StepFailure, type StepResult, windowWait } from "./step";

function send(config: SendSmsConfig, ctx: StepContext): StepResult {
  const { state, now } = ctx;
  const outside = windowWait(ctx, callWindowOpen(now, state, ctx.def), "call window");
  if (outside) {
    return outside;
  }
  const c = state.contact;
  // Email suppression (a bounced or complained address) says nothing of the phone.
  const why = !c.phone
    ? "the contact has no phone number"
    : c.smsSubscribed === false
      ? "the contact unsubscribed from SMS"
      : null;
  if (why) {
    return { kind: "outcome", outcome: "suppressed", message: `Not sent: ${why}` };
  }
  const category = config.category ?? ctx.def.category ?? "marketing";
  const refused = consentRefusal(c, category, config.topic, ctx.opts.sending?.topics);
  if (refused) {
    return { kind: "outcome", outcome: "suppressed", message: `Not sent: ${refused}` };
  }
  const governed = governSend(
    ctx,
    "sms",
    category,
    Boolean(ctx.def.callWindow) || state.bypassCallWindow === true,
  );
  if (governed) {
    return governed;
  }
  const body = renderString(config.body, ctx.scope);
  if (body.length > SMS_MAX_CHARS) {
    throw new StepFailure(
      `The SMS is ${body.length} characters after rendering; at most ${SMS_MAX_CHARS} are sent`,
    );
  }
  return {
    kind: "outcome",
    outcome: "sent",
    message: `SMS to ${c.phone} queued`,
    effects: [
      {
        type: "send_sms",
        key: ctx.key,
        stepId: ctx.step.id,
        body,
        category,
        ...(config.topic ? { topic: config.topic } : {}),
        ...(config.connectionId ? { connectionId: config.connectionId } : {}),
        ...(config.onError ? { onError: config.onError } : {}),
      },
    ],
  };
}

export default defineStep<SendSmsConfig>({
  type: "send_sms",
  description: `Send a text message (\`body\` is Liquid, at most ${SMS_MAX_CHARS} characters rendered) through the org's SMS connection (Twilio), else the outbox. Sent only inside the call window (default 08:00–21:00 in the contact's time zone); a contact without a phone, or unsubscribed from SMS (STOP), gets outcome \`suppressed\`. Marketing texts (the default \`category\`) honour the org's quiet hours and frequency caps: over a cap the step waits for room, or takes outcome \`capped\` when the workflow's \`onCap\` is \`skip\`.`,
  config: SendSmsConfig,
  outcomes: () => ["sent", "suppressed", "capped"],
  pauses: () => false,
  execute: send,
  resume: (config, ctx, wait, input) =>
    input.type === "wake" && wait.until != null && ctx.now >= wait.until ? send(config, ctx) : null,
});
