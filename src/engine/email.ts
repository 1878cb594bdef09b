// What an email is, as a step and a template describe it: its Liquid sources and the
// send_email step's config. The config's type travels unchanged from the step, through the
// queue job, to the email consumer.
import { z } from "zod";

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
  connectionPool: z
    .array(z.string().min(1).max(100))
    .min(1)
    .max(20)
    .optional()
    .describe(
      "Send from a pool of connections: each send goes through the member with the earliest free slot (paused ones skipped); a contact keeps the first one for the rest of its enrollment. Default: the workflow's `connectionPool`",
    ),
  track: Track.optional(),
  onError: z.enum(["fail", "continue"]).default("fail").optional(),
  thread: z
    .literal("previous")
    .optional()
    .describe(
      "Send as a reply in the thread of the enrollment's previous email: `Re: <its subject>` unless a subject is given, `In-Reply-To` and `References` set from its Message-ID",
    ),
  category: z
    .enum(["marketing", "transactional"])
    .optional()
    .describe(
      "Default: the workflow's `category` (marketing). Transactional mail ignores frequency caps, quiet hours and unsubscribes (never a bounce or complaint) and carries no unsubscribe link unless `unsubscribeLink: true`",
    ),
  topic: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe(
      "A topic key (POST /v1/topics): a marketing email goes only to contacts subscribed to it, and its one-click unsubscribe stops that topic only",
    ),
  unsubscribeLink: z
    .boolean()
    .optional()
    .describe("Transactional mail: add the one-click unsubscribe link and headers anyway"),
  plainText: z
    .boolean()
    .optional()
    .describe(
      "Text only (the text part, or the HTML converted to text): no HTML part and no open pixel; links are click-tracked only when `track.clicks` is true",
    ),
};

export const SendEmailConfig = z.union([
  z.object({ templateId: z.string().min(1).max(100), ...common }).strict(),
  z.object({ ...EmailSourceFields, ...common }).strict(),
  // A threaded follow-up may leave its subject to the thread (`Re: ...`).
  z
    .object({
      ...EmailSourceFields,
      ...common,
      subject: EmailSourceFields.subject.optional(),
      thread: z.literal("previous"),
    })
    .strict(),
]);
export type SendEmailConfig = z.infer<typeof SendEmailConfig>;
