// The caller's account: its org and its quotas.
import { z } from "@hono/zod-openapi";
import { TimeZone } from "../../domain/contacts";
import { Org, OrgQuotas } from "../admin/schemas";

export { Org, orgJson } from "../admin/schemas";

export const Account = Org.extend({
  reportingTimezone: z.string().openapi({
    description:
      "The time zone analytics count days in besides UTC (reads default to it). A change applies to facts counted from then on (within a minute on every isolate).",
    example: "Europe/Paris",
  }),
  quotas: OrgQuotas,
}).openapi("Account");

export const AccountPatch = z.strictObject({ reportingTimezone: TimeZone }).openapi("AccountPatch");
