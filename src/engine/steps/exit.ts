// exit: end the enrollment now, completed, with a reason.
import { z } from "zod";
import { defineStep } from "./step";

export const ExitConfig = z.object({ reason: z.string().max(200).optional() }).strict();
export default defineStep<z.infer<typeof ExitConfig>>({
  type: "exit",
  description: "End the enrollment now (status completed) with an optional reason.",
  config: ExitConfig,
  outcomes: () => [],
  pauses: () => false,
  execute: (config) => ({
    kind: "exit",
    reason: config.reason ?? "exit_step",
    message: `Exited: ${config.reason ?? "exit step"}`,
  }),
});
