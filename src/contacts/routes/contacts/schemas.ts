// Contact shapes: the input schemas live with the wing's verbs (src/contacts/contacts.ts), where
// every path that saves a contact validates it the same way; the output shape the routes answer
// with is described here, and contactJson (beside the verbs) fills it.
import { z } from "@hono/zod-openapi";
import { Timestamp } from "../../../http/openapi";
import { PageQuery } from "../../../http/pagination";

export {
  ContactInput,
  ContactPatch,
  ContactUpsert,
  contactJson,
} from "../../contacts";

export const ContactQuery = PageQuery.extend({
  email: z.string().optional(),
  externalId: z.string().optional(),
  phone: z.string().max(32).optional().openapi({
    description: "E.164 (+14155550123); spaces, dashes and brackets are ignored",
  }),
});

export const Contact = z
  .object({
    id: z.string(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    externalId: z.string().nullable(),
    firstName: z.string().nullable(),
    lastName: z.string().nullable(),
    timezone: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    subscribed: z.boolean(),
    smsSubscribed: z.boolean(),
    topics: z.record(z.string(), z.boolean()).openapi({
      description: "The contact's own choices per topic (a topic not listed: its default)",
    }),
    consent: z.enum(["pending", "confirmed"]).nullable().openapi({
      description: "Double opt-in: pending until confirmed; null when none was asked",
    }),
    suppressed: z.enum(["bounced", "complained"]).nullable(),
    score: z.number().int().nullable().openapi({
      description:
        "The last lead score (0–100) an agent gave (POST /v1/agents/{id}/score_lead or a `score_lead` step); conditions can branch on `contact.score`",
    }),
    scoredAt: Timestamp.nullable(),
    unsubscribedAt: Timestamp.nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Contact");
