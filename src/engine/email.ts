// What an email is, as a step and a template describe it: its Liquid sources and the
// send_email step's config. The config's type travels unchanged from the step, through the
// queue job, to the email consumer.
import { z } from "@hono/zod-openapi";

/** The Liquid sources of an email, as saved templates and inline send_email steps accept them. */
export const EmailSourceFields = {
  subject: z.string().min(1).max(1000),
  html: z
    .string()
    .min(1)
    .max(512 * 1024),
  text: z
    .string()
    .max(512 * 1024)
    .optional(),
};

const Track = z
  .object({ opens: z.boolean().default(true), clicks: z.boolean().default(true) })
  .strict();
const common = {
  from: z.string().max(320).optional(),
  replyTo: z.string().max(320).optional(),
  connectionId: z.string().max(100).optional(),
  track: Track.optional(),
  onError: z.enum(["fail", "continue"]).default("fail").optional(),
};

export const SendEmailConfig = z.union([
  z.object({ templateId: z.string().min(1).max(100), ...common }).strict(),
  z.object({ ...EmailSourceFields, ...common }).strict(),
]);
export type SendEmailConfig = z.infer<typeof SendEmailConfig>;
