// update_contact: shallow-merge templated values into the contact's data.
import { z } from "zod";
import { renderDeep } from "../templates";
import { defineStep } from "./step";

export const UpdateContactConfig = z
  .object({ data: z.record(z.string().min(1).max(200), z.unknown()) })
  .strict();
export type UpdateContactConfig = z.infer<typeof UpdateContactConfig>;

export default defineStep<UpdateContactConfig>({
  type: "update_contact",
  description: "Shallow-merge values (Liquid-templated) into the contact's data.",
  config: UpdateContactConfig,
  outcomes: () => ["done"],
  pauses: () => false,
  // Keys are stored by JSON path, in which `"` and `\\` cannot be quoted.
  lint: (config) =>
    Object.keys(config.data)
      .filter((k) => /["\\]/.test(k))
      .map((k) => ({ path: `data.${k}`, message: 'Keys may not contain " or \\' })),
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
