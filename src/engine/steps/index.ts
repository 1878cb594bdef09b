// The step catalog: one module per type; the API's /step-types is generated from it.
import { z } from "@hono/zod-openapi";
import condition from "./condition";
import delay from "./delay";
import exit from "./exit";
import log from "./log";
import sendEmail from "./send-email";
import split from "./split";
import type { StepType } from "./step";
import updateContact from "./update-contact";
import waitForEvent from "./wait-for-event";
import webhook from "./webhook";

export const STEP_TYPES: Record<string, StepType> = Object.fromEntries(
  [sendEmail, delay, waitForEvent, condition, split, webhook, updateContact, exit, log].map((s) => [
    s.type,
    s,
  ]),
);

export function stepCatalog() {
  return Object.values(STEP_TYPES).map((s) => ({
    type: s.type,
    description: s.description,
    outcomes: s.type === "split" ? ["<variant key>"] : s.outcomes({} as never),
    configSchema: z.toJSONSchema(s.config, { io: "input", unrepresentable: "any" }) as Record<
      string,
      unknown
    >,
  }));
}
