// Sending settings: the org's frequency caps and quiet hours.
import { z } from "@hono/zod-openapi";
import { Cap, QuietHours } from "../../../engine/governance";
import { documentable } from "../../../http/openapi";

const CapInput = documentable(Cap).openapi("FrequencyCap", {
  description:
    "Marketing messages of one channel per contact: at most `perDay` per calendar day and `perWeek` per ISO week (Monday to Sunday), both in the contact's time zone",
  example: { perDay: 2, perWeek: 5 },
});

export const SendingSettings = z
  .strictObject({
    caps: z
      .strictObject({
        "email.marketing": CapInput.optional(),
        "sms.marketing": CapInput.optional(),
      })
      .default({})
      .openapi({
        description:
          'Frequency caps per channel of marketing messages (transactional ones are never capped). A send over a cap waits until the cap has room — the next local day, or the next ISO week when the week is full — unless its workflow says `onCap: "skip"` (outcome `capped`). Counted exactly under concurrency: each send claims its slot in one conditional write.',
      }),
    quietHours: QuietHours.nullable()
      .default(null)
      .openapi({
        description:
          "Hours (in the contact's time zone) when no marketing email or SMS goes out from a workflow without a window of its own for that channel (`sendWindow` for email, `callWindow` for SMS); `start` after `end` wraps past midnight, the window belonging to the day it starts. Transactional messages ignore them; `bypassSendWindow` / `bypassCallWindow` on an enrollment skip them too.",
        example: {
          days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
          start: "21:00",
          end: "08:00",
        },
      }),
  })
  .openapi("SendingSettings");
