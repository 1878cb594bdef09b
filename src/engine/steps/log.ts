// log: a templated line in the enrollment's log.
import { z } from "zod";
import { renderString } from "../templates";
import { defineStep } from "./step";

export const LogConfig = z
  .object({
    message: z.string().min(1).max(2000),
    level: z.enum(["debug", "info", "warn", "error"]).default("info").optional(),
  })
  .strict();
export default defineStep<z.infer<typeof LogConfig>>({
  type: "log",
  description: "Write a (Liquid-templated) line to the enrollment's log.",
  config: LogConfig,
  outcomes: () => ["done"],
  pauses: () => false,
  execute: (config, ctx) => ({
    kind: "outcome",
    outcome: "done",
    message: renderString(config.message, ctx.scope),
  }),
});
