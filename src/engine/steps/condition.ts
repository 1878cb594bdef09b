// condition: branch on a Condition over contact.*, vars.* and event.* (outcome true/false).
import { evaluate } from "../conditions";
import { type Condition, ConditionSchema } from "../types";
import { defineStep } from "./step";

export default defineStep<Condition>({
  type: "condition",
  description:
    "Branch on a Condition over contact.*, vars.* and event.*: outcome `true` or `false`.",
  config: ConditionSchema,
  outcomes: () => ["true", "false"],
  pauses: () => false,
  execute(config, ctx) {
    const result = evaluate(config, ctx.scope);
    return { kind: "outcome", outcome: String(result), message: `Condition is ${result}` };
  },
});
