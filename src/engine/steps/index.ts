// The step catalog: one module per type; the API's /step-types is generated from it.
import { z } from "zod";
import { ConditionSchema, conditionJsonSchema } from "../types";
import { agentStep, scoreLeadStep } from "./agent";
import call from "./call";
import condition from "./condition";
import delay from "./delay";
import exit from "./exit";
import log from "./log";
import sendEmail from "./send-email";
import sendSms from "./send-sms";
import split from "./split";
import type { StepType } from "./step";
import task from "./task";
import updateContact from "./update-contact";
import waitForEvent from "./wait-for-event";
import webhook from "./webhook";

export const STEP_TYPES: Record<string, StepType> = Object.fromEntries(
  [
    sendEmail,
    sendSms,
    call,
    task,
    delay,
    waitForEvent,
    condition,
    split,
    webhook,
    updateContact,
    agentStep,
    scoreLeadStep,
    exit,
    log,
  ].map((s) => [s.type, s]),
);

const CONDITION_REF = "#/$defs/Condition";

/** A Condition's JSON Schema as a root definition (its recursion pointing at that definition). */
function conditionDefinition() {
  const { $schema: _, ...body } = conditionJsonSchema();
  return JSON.parse(
    JSON.stringify(body).replaceAll('"$ref":"#"', `"$ref":"${CONDITION_REF}"`),
  ) as Record<string, unknown>;
}

export function stepCatalog() {
  const condition = conditionDefinition();
  return Object.values(STEP_TYPES).map((s) => {
    let refersToCondition = false;
    const schema = z.toJSONSchema(s.config, {
      io: "input",
      unrepresentable: "any",
      // A Condition's depth guard is not representable: point at the recursive shape it admits.
      override: (ctx) => {
        if ((ctx.zodSchema as unknown) === ConditionSchema) {
          for (const k of Object.keys(ctx.jsonSchema)) {
            delete ctx.jsonSchema[k];
          }
          ctx.jsonSchema.$ref = CONDITION_REF;
          refersToCondition = true;
        }
      },
    }) as Record<string, unknown>;
    if (refersToCondition) {
      schema.$defs = { ...(schema.$defs as object | undefined), Condition: condition };
    }
    return {
      type: s.type,
      description: s.description,
      outcomes: s.type === "split" ? ["<variant key>"] : s.outcomes({} as never),
      configSchema: schema,
    };
  });
}
