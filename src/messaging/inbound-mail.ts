// Received email: the Worker's email() handler (Email Routing; locally POST
// /cdn-cgi/handler/email) and provider inbound webhooks hand a raw or parsed message here; it
// is read with postal-mime and given to the reply matcher (domain/replies).
import PostalMime from "postal-mime";
import type { Db } from "../db/client";
import { acrossShards, everyShard, shardFor } from "../db/shards";
import { config } from "../ground/config";
import type { Env } from "../ground/env";
import type { Logger } from "../ground/log";
import { htmlToText } from "../lib/text";
import { replyDomainOwners } from "./connections-store";
import { holdsMessageOf, type Received, type ReceivedMail, receiveMail } from "./replies";

/** Raw MIME above this is refused (the reply matcher needs the headers and the first text). */
const MAX_RAW_BYTES = 5 * 1024 * 1024;

/** A raw RFC 5322 message, read into what the matcher needs. */
export async function parseRawMail(
  raw: ArrayBuffer | Uint8Array | string,
  via: string,
  envelope: { from?: string; to?: string[] } = {},
): Promise<ReceivedMail> {
  const email = await PostalMime.parse(raw, { attachmentEncoding: "utf8" });
  const headers: Record<string, string> = {};
  for (const h of email.headers) {
    headers[h.key] = headers[h.key] ? `${headers[h.key]}, ${h.value}` : h.value;
  }
  const to = [
    ...(envelope.to ?? []),
    ...(email.to ?? []).flatMap((a) => (a.address ? [a.address] : [])),
    ...(email.deliveredTo ? [email.deliveredTo] : []),
  ];
  return {
    via,
    from: email.from?.address ?? envelope.from ?? "",
    to: [...new Set(to.map((a) => a.toLowerCase()))],
    subject: email.subject ?? "",
    headers,
    contentType: headers["content-type"],
    text: email.text ?? (email.html ? htmlToText(email.html) : ""),
    messageId: email.messageId,
    inReplyTo: email.inReplyTo,
    references: email.references ? [email.references] : [],
    // A bounce notification carries the original message (or its headers) as a part.
    attachedText: email.attachments
      .filter((a) =>
        /^(message\/(rfc822|delivery-status|global)|text\/rfc822-headers)/i.test(a.mimeType),
      )
      .map((a) => (typeof a.content === "string" ? a.content : new TextDecoder().decode(a.content)))
      .join("\n")
      .slice(0, 64 * 1024),
  };
}

/** The email() handler: parse, match, record; unmatched mail is forwarded when configured. */
/**
 * The shard received mail is handled on: the one holding the message it answers (by token or
 * Message-ID), else the receiving org's, else the first (where unmatched mail is kept).
 */
async function shardOfMail(env: Env, mail: ReceivedMail): Promise<Db> {
  const shards = everyShard(env);
  if (shards.length === 1) {
    return shards[0];
  }
  const holds = await Promise.all(shards.map((db) => holdsMessageOf(env, db, mail)));
  const at = holds.indexOf(true);
  if (at >= 0) {
    return shards[at];
  }
  return mail.receivingOrgId ? shardFor(env, mail.receivingOrgId) : shards[0];
}

export async function handleIncomingEmail(
  message: ForwardableEmailMessage,
  env: Env,
  log: Logger,
): Promise<Received | null> {
  if (message.rawSize > MAX_RAW_BYTES) {
    message.setReject(`Message too large (over ${MAX_RAW_BYTES} bytes)`);
    return null;
  }
  const raw = await new Response(message.raw).arrayBuffer();
  const mail = await parseRawMail(raw, "email_routing", { from: message.from, to: [message.to] });
  // The envelope recipient is where Email Routing delivered it (header To is the sender's word).
  // An org owns the domain when exactly one org's connections use it, on every shard together.
  const domain = /@([^@>\s]+)>?\s*$/.exec(message.to)?.[1];
  const owners = domain
    ? [...new Set(await acrossShards(env, async (db) => replyDomainOwners(db, domain)))]
    : [];
  mail.receivingOrgId = owners.length === 1 ? owners[0] : undefined;
  const db = await shardOfMail(env, mail);
  const received = await receiveMail(env, db, mail, log);
  const forwardTo = config(env).forwardUnmatchedTo;
  if (received.kind === "unmatched" && forwardTo) {
    await message.forward(forwardTo);
  }
  return received;
}
