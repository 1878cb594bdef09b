// The caller's account: its org and its quotas.
import { z } from "@hono/zod-openapi";
import { TimeZone } from "../../../contacts";
import { Org, OrgQuotas } from "../admin/schemas";

export { Org, orgJson } from "../admin/schemas";

export const Account = Org.extend({
  reportingTimezone: z.string().openapi({
    description:
      "The time zone analytics count days in besides UTC (reads default to it). A change applies to facts counted from then on (within a minute on every isolate).",
    example: "Europe/Paris",
  }),
  branding: z
    .object({
      name: z.string().optional(),
      logoUrl: z.string().optional(),
      accentColor: z.string().optional(),
    })
    .openapi({ description: "How the hosted preference and confirmation pages look" }),
  quotas: OrgQuotas,
}).openapi("Account");

export const Branding = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional().openapi({
      description: "Shown on the pages (default: the org's name)",
    }),
    logoUrl: z
      .string()
      .url()
      .max(2048)
      .refine((u) => u.startsWith("https://"), { message: "An https URL" })
      .optional(),
    accentColor: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, "A hex colour, e.g. #3b5bdb")
      .optional(),
  })
  .openapi("Branding");

export const AccountPatch = z
  .strictObject({ reportingTimezone: TimeZone.optional(), branding: Branding.optional() })
  .openapi("AccountPatch");
