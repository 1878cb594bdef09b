// update_contact: shallow-merge templated values into the contact's data.
import { z } from "@hono/zod-openapi";
import { renderDeep } from "../templates";
import { defineStep } from "./step";

export const UpdateContactConfig = z.object({ data: z.record(z.string(), z.unknown()) }).strict();
export type UpdateContactConfig = z.infer<typeof UpdateContactConfig>;

export default defineStep<UpdateContactConfig>({
  type: "update_contact",
  description: "Shallow-merge values (Liquid-templated) into the contact's data.",
  config: UpdateContactConfig,
  outcomes: () => ["done"],
  pauses: false,
  execute(config, ctx) {
    const data = renderDeep(config.data, ctx.scope) as Record<string, unknown>;
    return {
      kind: "outcome",
      outcome: "done",
      message: `Contact data updated: ${Object.keys(data).join(", ")}`,
      contactData: data,
      effects: [{ type: "update_contact", key: ctx.key, stepId: ctx.step.id, data }],
    };
  },
});
