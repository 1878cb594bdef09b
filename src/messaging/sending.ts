// Sending governance at run time: the org's policy (remembered a minute per isolate), and the
// frequency-cap slots an enrollment's marketing sends claim before they leave its object.
import type { Db } from "../db/client";
import {
  type CapKey,
  capReopens,
  capWindows,
  NO_POLICY,
  type SendingPolicy,
} from "../engine/governance";
import type { Effect, EnrollmentState } from "../engine/types";
import { claimSlots, getSendingPolicy, type SlotClaim, slotsInWeek } from "./sending-store";
import { allTopics } from "./topics-store";

const POLICY_TTL_MS = 60_000;
type Policy = SendingPolicy & { topics: Record<string, boolean> };
/** The read in flight or done, so enrollments starting together share one read. */
const policies = new Map<string, { policy: Promise<Policy>; until: number }>();

/**
 * The org's caps, quiet hours and topic defaults; a change reaches other isolates within a
 * minute (this one at once).
 */
export function sendingPolicyOf(db: Db, orgId: string, now = Date.now()): Promise<Policy> {
  const hit = policies.get(orgId);
  if (hit && hit.until > now) {
    return hit.policy;
  }
  const policy = Promise.all([getSendingPolicy(db, orgId), allTopics(db, orgId)]).then(
    ([stored, topicRows]) => ({
      ...(stored ?? NO_POLICY),
      topics: Object.fromEntries(topicRows.map((t) => [t.key, t.defaultSubscribed])),
    }),
  );
  policies.set(orgId, { policy, until: now + POLICY_TTL_MS });
  // A failed read is not remembered: the next run asks again.
  policy.catch(() => policies.delete(orgId));
  return policy;
}

/** PUT /v1/settings/sending: this isolate sees the new policy at once. */
export const forgetSendingPolicy = (orgId: string) => policies.delete(orgId);

/** The cap an effect counts against: marketing email or SMS under a cap of the policy. */
function capOf(e: Effect, policy: SendingPolicy): CapKey | null {
  const key: CapKey | null =
    e.type === "send_email" && (e.config.category ?? "marketing") === "marketing"
      ? "email.marketing"
      : e.type === "send_sms" && e.category === "marketing"
        ? "sms.marketing"
        : null;
  return key && policy.caps[key] ? key : null;
}

/**
 * Claims a slot for each capped send among `effects`. Returns the sends refused, each with the
 * moment its cap has room again (the contact's next local day, or next ISO week when the week
 * is full), and the keys that hold a slot.
 */
export async function claimCapSlots(
  db: Db,
  state: EnrollmentState,
  effects: Effect[],
  policy: SendingPolicy,
  now: number,
): Promise<{ refused: Record<string, number>; held: string[] }> {
  const { day, week } = capWindows(now, state.timezone);
  const claims: SlotClaim[] = [];
  for (const e of effects) {
    const capKey = capOf(e, policy);
    if (capKey && "key" in e) {
      const cap = policy.caps[capKey];
      claims.push({
        key: e.key,
        orgId: state.orgId,
        contactId: state.contactId,
        capKey,
        day,
        week,
        perDay: cap?.perDay,
        perWeek: cap?.perWeek,
      });
    }
  }
  const refusedKeys = new Set(await claimSlots(db, claims, now));
  const refused: Record<string, number> = {};
  for (const claim of claims.filter((c) => refusedKeys.has(c.key))) {
    const slots = await slotsInWeek(db, claim.contactId, claim.capKey, week);
    const inWeek = slots.reduce((n, s) => n + Number(s.n), 0);
    const weekFull = claim.perWeek !== undefined && inWeek >= claim.perWeek;
    refused[claim.key] = capReopens(now, state.timezone, weekFull ? "week" : "day");
  }
  return {
    refused,
    held: claims.filter((c) => !refusedKeys.has(c.key)).map((c) => c.key),
  };
}
