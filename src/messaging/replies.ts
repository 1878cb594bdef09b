// Replies: a received email (from the email() handler or a provider's inbound webhook) is
// matched to the message it answers — by the signed token of its reply address (or, in a
// bounce, of the quoted original's), else by its In-Reply-To/References (or a bounce's quoted
// original) against the Message-IDs Nudge gave — then classified: a DSN suppresses like a
// provider bounce, an automatic reply becomes `email.auto_replied` (and may hold the
// enrollment until the return date, at most AUTO_REPLY_MAX_HOLD_DAYS), a human reply becomes
// `email.replied` (its text without the quoted history), which ends the enrollments of
// workflows that stop on a reply. Anyone can write any From, Content-Type or Auto-Submitted:
// a mail that only comes from the address of a message's recipient is recorded (as a `sender`
// match, looked up only in the org that owns the receiving address or connection) and never
// acted on — a token or a Message-ID shows its sender received the message.

import { messageFact, recordFacts } from "../analytics";
import { recordSystemEvent } from "../contacts";
import type { Db } from "../db/client";
import { classifyMail, type MailFacts, stripQuoted } from "../engine/replies";
import { enrollmentStub } from "../enrollments";
import { config } from "../ground/config";
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

/** A mail matched by its sender alone is noted against a message this recent. */
const SENDER_MATCH_DAYS = 30;
/** An automatic reply naming no return date pauses this long (onAutoReply: pause_until_return). */
const DEFAULT_PAUSE_MS = 7 * 86_400_000;
/** The stored reply text is cut here. */
const MAX_TEXT = 10_000;
/** The quoted history is looked for in this much of a reply (what is kept is at most MAX_TEXT). */
const STRIP_PREFIX = MAX_TEXT + 2_000;
/** A bounce's text and attached parts are searched this far for the original's Message-ID or token. */
const QUOTE_SCAN = 64 * 1024;
/** At most this many reply addresses (envelope, headers, a bounce's quote) are verified. */
const MAX_TOKENS = 8;

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
  /**
   * The org owning the address the mail was delivered to (the envelope recipient's reply
   * domain), when exactly one does: the only org a sender-only match is looked for in.
   */
  receivingOrgId?: string;
}

export type Match = "token" | "header" | "sender" | "none";

export interface Received {
  id: string;
  match: Match;
  kind: "reply" | "auto_reply" | "bounce" | "unmatched" | "duplicate";
  messageId?: string;
}

const OUR_ID = /<(msg_[0-9A-Z]{26}@[^<>\s]+)>/g;
/** A reply address's token (its MAC decides; this only finds candidates). */
const REPLY_TOKEN = /\breply\+(msg_[0-9a-z]{26}\.[a-z0-9_-]{1,32}\.[0-9a-f]{16})@/gi;
const ids = (s: string | undefined) => [...(s ?? "").matchAll(/<([^<>\s]+)>/g)].map((m) => m[1]);
const bare = (address: string) => (/<([^>]+)>/.exec(address)?.[1] ?? address).trim().toLowerCase();

/**
 * What the mail names of ours: the message ids its verified reply tokens carry, and the
 * Message-IDs it refers to (a bounce's quoted original included).
 */
async function mentions(env: Env, mail: ReceivedMail, bounce: boolean) {
  // A bounce notification quotes the original (in its text or attached parts): the Message-ID
  // Nudge made, or — when a provider replaced that — the signed Reply-To.
  const quoted = bounce ? `${mail.text}\n${mail.attachedText ?? ""}`.slice(0, QUOTE_SCAN) : "";
  const tokens = [
    ...mail.to.flatMap((to) => /^reply\+([^@]+)@/i.exec(bare(to))?.[1] ?? []),
    ...[...quoted.matchAll(REPLY_TOKEN)].map((m) => m[1]),
  ];
  const tokenIds: string[] = [];
  for (const local of [...new Set(tokens)].slice(0, MAX_TOKENS)) {
    const id = await verifyReplyToken(env, local);
    if (id) {
      tokenIds.push(id);
    }
  }
  const refs = [...new Set([...ids(mail.inReplyTo), ...(mail.references ?? []).flatMap(ids)])];
  for (const m of quoted.matchAll(OUR_ID)) {
    refs.push(m[1]);
  }
  return { tokenIds, refs };
}

/**
 * Whether `db` (one shard) holds a message the mail names by token or Message-ID: received
 * mail that names no org is handled on the shard that sent what it answers.
 */
export async function holdsMessageOf(env: Env, db: Db, mail: ReceivedMail): Promise<boolean> {
  const { tokenIds, refs } = await mentions(
    env,
    mail,
    classifyMail(mail, Date.now()).kind === "bounce",
  );
  for (const id of tokenIds) {
    if (await getMessageById(db, id)) {
      return true;
    }
  }
  return (
    (
      await messagesByRfcIds(
        db,
        refs.map((r) => `<${r}>`),
      )
    ).length > 0
  );
}

async function match(
  env: Env,
  db: Db,
  mail: ReceivedMail,
  now: number,
  bounce: boolean,
  orgId: string | undefined,
) {
  const ours = (m: MessageRow | undefined) => (m && (!orgId || m.orgId === orgId) ? m : undefined);
  const { tokenIds, refs } = await mentions(env, mail, bounce);
  for (const id of tokenIds) {
    const msg = ours(await getMessageById(db, id));
    if (msg) {
      return { match: "token" as const, msg };
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
  // Never across orgs: the connection's org, else the one owning the receiving address.
  const senderOrg = orgId ?? mail.receivingOrgId;
  const bySender = senderOrg
    ? await latestMessageTo(db, bare(mail.from), now - SENDER_MATCH_DAYS * 86_400_000, senderOrg)
    : undefined;
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
  // Only a token or a Message-ID Nudge gave shows the mail concerns that message; a sender
  // match rests on a From header anyone can write, so it is recorded and not acted on.
  const msg: MessageRow | undefined = found.match === "sender" ? undefined : found.msg;
  // After the match, and on a bounded prefix: unmatched mail is never stripped.
  const text =
    msg && kind.kind === "reply"
      ? stripQuoted(mail.text.slice(0, STRIP_PREFIX)).slice(0, MAX_TEXT)
      : null;
  const returnAt = kind.kind === "auto_reply" ? kind.returnAt : null;
  const from = bare(mail.from);
  await insertInboundMail(db, {
    id,
    orgId: found.msg?.orgId ?? null,
    messageId: msg?.id ?? null,
    via: mail.via,
    match: found.match,
    kind: msg ? kind.kind : "unmatched",
    from,
    to: mail.to.join(", ").slice(0, 1000),
    subject: mail.subject.slice(0, 998),
    text: text ?? mail.text.slice(0, MAX_TEXT),
    reason: msg
      ? kind.kind === "reply"
        ? null
        : kind.reason
      : found.msg
        ? `Matched by only its sender (${from}, sent ${found.msg.id}): a From header anyone can write, so not applied — no reply token and no Message-ID Nudge gave (looked like: ${kind.kind})`
        : `No reply token, no known Message-ID in In-Reply-To/References, and no message to ${from} in the last ${SENDER_MATCH_DAYS} days from the org it was sent to (looked like: ${kind.kind})`,
    returnAt,
    receivedAt: now,
  });
  if (!msg) {
    log.info("inbound mail unmatched", { id, via: mail.via, match: found.match });
    return { id, match: found.match, kind: "unmatched" };
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
    // The return date is the mail's word: a hold is capped, whatever date it names.
    const until = Math.min(
      returnAt ?? now + DEFAULT_PAUSE_MS,
      now + config(env).autoReplyMaxHoldMs,
    );
    await pauseIfAsked(env, db, msg, until, now);
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
