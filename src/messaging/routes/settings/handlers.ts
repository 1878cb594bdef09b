// Sending settings handlers.

import { shardFor } from "../../../db/shards";
import { NO_POLICY, type SendingPolicy } from "../../../engine/governance";
import type { Handler } from "../../../http/openapi";
import { forgetSendingPolicy } from "../../sending";
import { getSendingPolicy, setSendingPolicy } from "../../sending-store";
import type * as routes from "./routes";

export const get: Handler<typeof routes.get> = async (c) => {
  const policy =
    (await getSendingPolicy(await shardFor(c.env, c.get("orgId")), c.get("orgId"))) ?? NO_POLICY;
  return c.json({ caps: policy.caps, quietHours: policy.quietHours }, 200);
};

export const put: Handler<typeof routes.put> = async (c) => {
  const body = c.req.valid("json");
  const policy: SendingPolicy = { caps: body.caps, quietHours: body.quietHours };
  await setSendingPolicy(await shardFor(c.env, c.get("orgId")), c.get("orgId"), policy);
  forgetSendingPolicy(c.get("orgId"));
  return c.json(policy, 200);
};
