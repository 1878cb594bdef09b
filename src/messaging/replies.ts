// Replies: a received email (from the email() handler or a provider's inbound webhook) is
// matched to the message it answers — by the signed token of its reply address, else by its
// In-Reply-To/References against the Message-IDs Nudge gave, else (a weaker match) by its
// sender and the latest message sent to that address — then classified: a DSN suppresses like
// a provider bounce, an automatic reply becomes `email.auto_replied` (and may pause the
// enrollment until the return date), a human reply becomes `email.replied` (its text without
// the quoted history), which ends the enrollments of workflows that stop on a reply.

import { messageFact, recordFacts } from "../analytics";
import { recordSystemEvent } from "../contacts";
import type { Db } from "../db/client";
import { classifyMail, type MailFacts, stripQuoted } from "../engine/replies";
import { enrollmentStub } from "../enrollments";
import type { Env } from "../ground/env";
import { newId } from "../ground/ids";
import type { Logger } from "../ground/log";
import { verifyReplyToken } from "../security/tokens";
import { getWorkflow } from "../workflows";
import { applyDeliveryEvents } from "./deliveries";
import { forgetInboundSeen, insertInboundMail, markInboundSeen } from "./inbound-store";
import {
  getMessageById,
  latestMessageTo,
  type MessageRow,
  markReplied,
  messagesByRfcIds,
} from "./store";

/** A reply matched by its sender alone must answer a message this recent. */
const SENDER_MATCH_DAYS = 30;
/** An automatic reply naming no return date pauses this long (onAutoReply: pause_until_return). */
const DEFAULT_PAUSE_MS = 7 * 86_400_000;
/** The stored reply text is cut here. */
const MAX_TEXT = 10_000;

export interface ReceivedMail extends MailFacts {
  /** `email_routing`, or the provider whose inbound webhook delivered it. */
  via: string;
  /** Envelope and header recipients. */
  to: string[];
  /** The received mail's own Message-ID (dedupes a redelivery). */
  messageId?: string;
  inReplyTo?: string;
  references?: string[];
  /** Text of attached messages or headers (a bounce notification quotes the original's). */
  attachedText?: string;
}

export type Match = "token" | "header" | "sender" | "none";

export interface Received {
  id: string;
  match: Match;
  kind: "reply" | "auto_reply" | "bounce" | "unmatched" | "duplicate";
  messageId?: string;
}

const OUR_ID = /<(msg_[0-9A-Z]{26}@[^<>\s]+)>/g;
const ids = (s: string | undefined) => [...(s ?? "").matchAll(/<([^<>\s]+)>/g)].map((m) => m[1]);
const bare = (address: string) => (/<([^>]+)>/.exec(address)?.[1] ?? address).trim().toLowerCase();

async function match(
  env: Env,
  db: Db,
  mail: ReceivedMail,
  now: number,
  bounce: boolean,
  orgId: string | undefined,
) {
  const ours = (m: MessageRow | undefined) => (m && (!orgId || m.orgId === orgId) ? m : undefined);
  for (const to of mail.to) {
    const local = /^reply\+([^@]+)@/i.exec(bare(to))?.[1];
    const id = local ? await verifyReplyToken(env, local) : null;
    const msg = ours(id ? await getMessageById(db, id) : undefined);
    if (msg) {
      return { match: "token" as const, msg };
    }
  }
  const refs = [...new Set([...ids(mail.inReplyTo), ...(mail.references ?? []).flatMap(ids)])];
  if (bounce) {
    // A bounce notification quotes the original: Message-IDs Nudge made, in its text or parts.
    for (const m of `${mail.text}\n${mail.attachedText ?? ""}`.matchAll(OUR_ID)) {
      refs.push(m[1]);
    }
  }
  const byHeader = (
    await messagesByRfcIds(
      db,
      refs.map((r) => `<${r}>`),
    )
  ).find((m) => ours(m));
  if (byHeader) {
    return { match: "header" as const, msg: byHeader };
  }
  const bySender = await latestMessageTo(
    db,
    bare(mail.from),
    now - SENDER_MATCH_DAYS * 86_400_000,
    orgId,
  );
  if (bySender) {
    return { match: "sender" as const, msg: bySender };
  }
  return { match: "none" as const, msg: undefined };
}

/**
 * `orgId`: mail posted by an org's provider webhook is matched only to that org's messages
 * (another tenant cannot end this org's sequences); the email() handler serves every org.
 */
export async function receiveMail(
  env: Env,
  db: Db,
  mail: ReceivedMail,
  log: Logger,
  orgId?: string,
  now = Date.now(),
): Promise<Received> {
  const id = newId("inm", now);
  const dedupeKey = mail.messageId ? bare(mail.messageId) : null;
  // Mail posted by an org's webhook is deduped within that org (no tenant can pre-empt another's).
  const seenIn = orgId ? `mail:${orgId}` : "mail";
  if (dedupeKey && !(await markInboundSeen(db, seenIn, dedupeKey, now))) {
    return { id, match: "none", kind: "duplicate" };
  }
  try {
    return await handleReceived(env, db, mail, log, orgId, now, id, dedupeKey ?? id);
  } catch (err) {
    // Not processed: a redelivery of this mail must not be taken for a duplicate.
    if (dedupeKey) {
      await forgetInboundSeen(db, seenIn, dedupeKey);
    }
    throw err;
  }
}

async function handleReceived(
  env: Env,
  db: Db,
  mail: ReceivedMail,
  log: Logger,
  orgId: string | undefined,
  now: number,
  id: string,
  /** Stable across redeliveries: the events recorded for this mail are keyed by it. */
  eventKey: string,
): Promise<Received> {
  const kind = classifyMail(mail, now);
  const found = await match(env, db, mail, now, kind.kind === "bounce", orgId);
  const msg: MessageRow | undefined = found.msg;
  const text = kind.kind === "reply" ? stripQuoted(mail.text).slice(0, MAX_TEXT) : null;
  const returnAt = kind.kind === "auto_reply" ? kind.returnAt : null;
  await insertInboundMail(db, {
    id,
    orgId: msg?.orgId ?? null,
    messageId: msg?.id ?? null,
    via: mail.via,
    match: found.match,
    kind: msg ? kind.kind : "unmatched",
    from: bare(mail.from),
    to: mail.to.join(", ").slice(0, 1000),
    subject: mail.subject.slice(0, 998),
    text: text ?? mail.text.slice(0, MAX_TEXT),
    reason: msg
      ? kind.kind === "reply"
        ? null
        : kind.reason
      : `No reply token, no known Message-ID in In-Reply-To/References, and no message to ${bare(mail.from)} in the last ${SENDER_MATCH_DAYS} days (looked like: ${kind.kind})`,
    returnAt,
    receivedAt: now,
  });
  if (!msg) {
    log.info("inbound mail unmatched", { id, via: mail.via });
    return { id, match: "none", kind: "unmatched" };
  }
  const data = {
    messageId: msg.id,
    enrollmentId: msg.enrollmentId,
    stepId: msg.stepId,
    inboundId: id,
    match: found.match,
  };
  if (kind.kind === "bounce") {
    await applyDeliveryEvents(env, db, { id: "mail", orgId: msg.orgId, provider: "email" }, [
      { eventId: `dsn:${eventKey}`, kind: "bounced", ourMessageId: msg.id, reason: kind.reason },
    ]);
    return { id, match: found.match, kind: "bounce", messageId: msg.id };
  }
  if (kind.kind === "auto_reply") {
    await markReplied(db, msg.id, "autoRepliedAt", now);
    await recordFacts(db, [messageFact(msg, "autoReplied", now)]);
    await recordSystemEvent(env, db, {
      orgId: msg.orgId,
      contactId: msg.contactId,
      name: "email.auto_replied",
      data: {
        ...data,
        subject: mail.subject,
        returnAt: returnAt ? new Date(returnAt).toISOString() : null,
      },
      key: `${eventKey}:email.auto_replied`,
    });
    // Two routes on purpose. A human reply is an event like any other: through the fan-out it
    // ends the contact's enrollments in every workflow that stops on a reply or exits on it
    // (src/workflows/stop-on-reply.ts), resumes those waiting for it and starts those it
    // triggers. The pause is none of those: it holds the one enrollment whose email drew the
    // automatic reply (the contact's other sequences are not asked), until a date only this
    // mail carries, so it is a direct call to that enrollment; the fan-out of
    // email.auto_replied still serves waits, exits and triggers on that event.
    await pauseIfAsked(env, db, msg, returnAt ?? now + DEFAULT_PAUSE_MS, now);
    return { id, match: found.match, kind: "auto_reply", messageId: msg.id };
  }
  await markReplied(db, msg.id, "repliedAt", now);
  await recordFacts(db, [messageFact(msg, "replied", now)]);
  await recordSystemEvent(env, db, {
    orgId: msg.orgId,
    contactId: msg.contactId,
    name: "email.replied",
    data: { ...data, subject: mail.subject, from: bare(mail.from), text },
    key: `${eventKey}:email.replied`,
  });
  return { id, match: found.match, kind: "reply", messageId: msg.id };
}

/** onAutoReply: "pause_until_return" holds the enrollment the auto-reply answered. */
async function pauseIfAsked(env: Env, db: Db, msg: MessageRow, until: number, now: number) {
  if (!msg.enrollmentId || !msg.workflowId) {
    return;
  }
  const workflow = await getWorkflow(db, msg.orgId, msg.workflowId);
  if (workflow?.onAutoReply !== "pause_until_return" || until <= now) {
    return;
  }
  await enrollmentStub(env, msg.enrollmentId).holdUntil(until, "automatic reply");
}
