// wait_for_event: park until the contact's event arrives (outcome `event`) or the timeout (`timeout`).
import { z } from "zod";
import { evaluate } from "../conditions";
import { ConditionSchema } from "../types";
import { defineStep } from "./step";

export const WaitForEventConfig = z
  .object({
    eventName: z.string().min(1).max(100),
    timeout: z
      .number()
      .int()
      .positive()
      .max(366 * 86_400)
      .describe("seconds"),
    match: ConditionSchema.optional(),
  })
  .strict();
export type WaitForEventConfig = z.infer<typeof WaitForEventConfig>;

export default defineStep<WaitForEventConfig>({
  type: "wait_for_event",
  description:
    "Wait for an event of the contact (optionally matching a condition on `event.*`) or a timeout in seconds. Only events received after the wait began count.",
  config: WaitForEventConfig,
  outcomes: () => ["event", "timeout"],
  pauses: () => true,
  execute(config, ctx) {
    if (ctx.opts.skipDelays) {
      return {
        kind: "outcome",
        outcome: "timeout",
        message: `[test] No events in a dry run: "${config.eventName}" timed out`,
      };
    }
    const until = ctx.now + config.timeout * 1000;
    return {
      kind: "wait",
      wait: {
        kind: "event",
        stepId: ctx.step.id,
        until,
        event: config.eventName,
        match: config.match,
      },
      message: `Waiting for "${config.eventName}" until ${new Date(until).toISOString()}`,
    };
  },
  resume(config, ctx, wait, input) {
    if (input.type === "event") {
      if (input.name !== config.eventName) {
        return null;
      }
      if (config.match && !evaluate(config.match, { ...ctx.scope, event: input.data })) {
        return null;
      }
      return { kind: "outcome", outcome: "event", message: `Event "${input.name}" received` };
    }
    if (input.type === "wake" && wait.until != null && ctx.now >= wait.until) {
      return {
        kind: "outcome",
        outcome: "timeout",
        message: `No "${config.eventName}" before the timeout`,
      };
    }
    return null;
  },
});
