// Event handlers.
import { database } from "../../db/client";
import { trackEvent } from "../../domain/events";
import type { Handler } from "../../http/openapi";
import type * as routes from "./routes";

export const track: Handler<typeof routes.track> = async (c) => {
  const body = c.req.valid("json");
  const result = await trackEvent(
    c.env,
    database(c.env.DB),
    c.get("orgId"),
    {
      name: body.name,
      contact: body.contactId
        ? { id: body.contactId }
        : body.email
          ? { email: body.email }
          : { externalId: body.externalId as string },
      data: body.data ?? {},
      occurredAt: body.occurredAt ? Date.parse(body.occurredAt) : undefined,
    },
    c.get("log"),
  );
  return c.json(result, 202);
};
