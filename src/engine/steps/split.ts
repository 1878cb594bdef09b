// split: an A/B split by weight, deterministic per enrollment; the outcome is the variant key.
import { z } from "zod";
import { chooseVariant } from "../split";
import { defineStep } from "./step";

export const SplitConfig = z
  .object({
    variants: z
      .array(
        z
          .object({
            key: z
              .string()
              .min(1)
              .max(50)
              .regex(/^[\w-]+$/),
            weight: z.number().positive().max(1_000_000),
          })
          .strict(),
      )
      .min(2)
      .max(20)
      .refine((v) => new Set(v.map((x) => x.key)).size === v.length, "Variant keys must be unique"),
  })
  .strict();
export type SplitConfig = z.infer<typeof SplitConfig>;

export default defineStep<SplitConfig>({
  type: "split",
  description:
    "A/B split: each enrollment gets one variant by weight, deterministically by its id; the outcome is the variant key.",
  config: SplitConfig,
  outcomes: (c) => c.variants.map((v) => v.key),
  pauses: () => false,
  execute(config, ctx) {
    const key = chooseVariant(ctx.state.id, ctx.step.id, config.variants);
    return { kind: "outcome", outcome: key, message: `Split chose variant "${key}"` };
  },
});
