// Contact input validation: email syntax, E.164 phone, real IANA zone, data ≤ 64 KiB.
import { z } from "@hono/zod-openapi";
import { parsePhoneNumberFromString } from "libphonenumber-js/min";
import { iso } from "../../db/client";
import type { ContactRow } from "../../db/contacts";
import { isTimeZone } from "../../engine/timezones";
import { Timestamp } from "../../http/openapi";

export const Email = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: "Must be a valid email address" }))
  .transform((s) => s.toLowerCase());

export const Phone = z
  .string()
  .trim()
  .refine((s) => /^\+[1-9]\d{6,14}$/.test(s) && parsePhoneNumberFromString(s)?.isValid() === true, {
    message: "Must be a valid phone number in E.164 format, e.g. +14155552671",
  });

export const TimeZone = z.string().refine(isTimeZone, { message: "Must be an IANA time zone, e.g. America/New_York" });

export const ContactData = z
  .record(z.string(), z.unknown())
  .refine((d) => new TextEncoder().encode(JSON.stringify(d)).length <= 64 * 1024, { message: "data must be at most 64 KiB of JSON" });

const fields = {
  email: Email.optional(),
  phone: Phone.nullable().optional(),
  externalId: z.string().trim().min(1).max(255).optional(),
  firstName: z.string().max(200).nullable().optional(),
  lastName: z.string().max(200).nullable().optional(),
  timezone: TimeZone.nullable().optional(),
  data: ContactData.optional(),
  subscribed: z.boolean().optional(),
};

export const ContactInput = z
  .object(fields)
  .refine((c) => c.email !== undefined || c.externalId !== undefined, {
    message: "A contact needs an email or an externalId",
    path: ["email"],
  })
  .openapi("ContactInput");

export const ContactPatch = z.object(fields).openapi("ContactPatch");

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
    suppressed: z.enum(["bounced", "complained"]).nullable(),
    unsubscribedAt: Timestamp.nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Contact");

export const contactJson = (c: ContactRow) => ({
  id: c.id,
  email: c.email,
  phone: c.phone,
  externalId: c.externalId,
  firstName: c.firstName,
  lastName: c.lastName,
  timezone: c.timezone,
  data: c.data,
  subscribed: c.subscribed,
  suppressed: c.suppressed,
  unsubscribedAt: iso(c.unsubscribedAt),
  createdAt: iso(c.createdAt) as string,
  updatedAt: iso(c.updatedAt) as string,
});
