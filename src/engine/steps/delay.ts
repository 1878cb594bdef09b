// delay: wait an amount of time, until an instant, or until a local time of day.
import { z } from "zod";
import { addDelay, nextLocalTime, UNIT_MS } from "../schedule";
import { DAY_NAMES } from "../types";
import { defineStep } from "./step";

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "Use HH:MM (24 h)");
export const DelayConfig = z.union([
  z
    .object({
      amount: z.number().positive().max(100_000),
      unit: z.enum(["seconds", "minutes", "hours", "days", "weeks"]),
    })
    .strict(),
  z.object({ until: z.iso.datetime({ offset: true }) }).strict(),
  z
    .object({
      untilLocalTime: HHMM,
      days: z
        .union([z.array(z.enum(DAY_NAMES)).min(1), z.number().int().min(0).max(365)])
        .optional(),
    })
    .strict(),
]);
export type DelayConfig = z.infer<typeof DelayConfig>;

/** The shortest delay that counts as a pause a cycle may pass through. */
export const MIN_LOOP_DELAY_MS = 60_000;

export default defineStep<DelayConfig>({
  type: "delay",
  description:
    'Wait: `{amount, unit}`, `{until: ISO}`, or `{untilLocalTime: "09:00", days?}` in the enrollment\'s time zone — `days` is either the allowed weekdays or a number of days to wait first.',
  config: DelayConfig,
  outcomes: () => ["done"],
  // Only a duration guarantees a pause: `until` may be in the past, and a local time may be a second away.
  pauses: (config) =>
    "amount" in config && config.amount * UNIT_MS[config.unit] >= MIN_LOOP_DELAY_MS,
  execute(config, ctx) {
    const { now, state } = ctx;
    let until: number;
    if ("amount" in config) {
      if (ctx.opts.skipDelays) {
        return {
          kind: "outcome",
          outcome: "done",
          message: `Delay of ${config.amount} ${config.unit} skipped in simulated time`,
        };
      }
      until = addDelay(now, config.amount, config.unit, state.timezone);
    } else if ("until" in config) {
      until = Math.max(now, Date.parse(config.until));
    } else {
      const days = config.days;
      until = Array.isArray(days)
        ? nextLocalTime(now, state.timezone, config.untilLocalTime, days)
        : nextLocalTime(now, state.timezone, config.untilLocalTime, undefined, days ?? 0);
    }
    if (until <= now) {
      return { kind: "outcome", outcome: "done", message: "Delay already elapsed" };
    }
    return {
      kind: "wait",
      wait: { kind: "delay", stepId: ctx.step.id, until },
      message: `Waiting until ${new Date(until).toISOString()}`,
    };
  },
  resume: (_config, ctx, wait, input) =>
    input.type === "wake" && wait.until != null && ctx.now >= wait.until
      ? { kind: "outcome", outcome: "done", message: "Delay elapsed" }
      : null,
});
