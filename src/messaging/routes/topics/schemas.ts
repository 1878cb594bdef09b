// Topic shapes.
import { z } from "@hono/zod-openapi";
import { iso } from "../../../db/client";
import { Timestamp } from "../../../http/openapi";
import type { TopicRow } from "../../topics-store";

const TopicKey = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, "Keys use lower-case letters, digits, _ and -");

export const TopicInput = z
  .strictObject({
    key: TopicKey,
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).nullable().optional(),
    defaultSubscribed: z.boolean().default(true).openapi({
      description: "Whether a contact who never chose is subscribed (default true)",
    }),
  })
  .openapi("TopicInput");

export const TopicPatch = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    description: z.string().max(2000).nullable().optional(),
    defaultSubscribed: z.boolean().optional(),
  })
  .openapi("TopicPatch");

export const Topic = z
  .object({
    id: z.string(),
    key: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    defaultSubscribed: z.boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Topic");

export const topicJson = (t: TopicRow) => ({
  id: t.id,
  key: t.key,
  name: t.name,
  description: t.description,
  defaultSubscribed: t.defaultSubscribed,
  createdAt: iso(t.createdAt) as string,
  updatedAt: iso(t.updatedAt) as string,
});
