// Contact shapes: the input and output schemas live with the domain (src/domain/contacts.ts),
// where every path that saves a contact validates it the same way.
import { z } from "@hono/zod-openapi";
import { PageQuery } from "../../../http/pagination";

export {
  Contact,
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
