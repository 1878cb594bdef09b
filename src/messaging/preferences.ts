// Consent: the hosted preference page's choices (topics, unsubscribe from everything) and
// double opt-in (a pending contact, its confirmation email, the confirmed link).

import { publicUrl } from "../accounts";
import {
  type ContactRow,
  contactSnapshot,
  getContact,
  notifyContactChange,
  recordSystemEvent,
  updateContact,
} from "../contacts";
import type { Db } from "../db/client";
import { renderTemplate } from "../engine/templates";
import type { Env } from "../ground/env";
import { newId } from "../ground/ids";
import { htmlToText } from "../lib/text";
import { signToken, trackingUrl } from "../security/tokens";
import { loadSender } from "./senders";
import { getTemplate } from "./templates-store";

/** A preference page's form as posted, and what it showed when it was drawn. */
export interface PreferenceForm {
  /** The topics it showed (each ticked or not: each is set to what was posted). */
  shown: string[];
  /** The topics posted ticked. */
  chosen: Set<string>;
  /** "Unsubscribe from everything" posted ticked. */
  everything: boolean;
  /** "Unsubscribe from everything" was drawn ticked. */
  everythingShown: boolean;
}

/**
 * Saves a preference page's form. A form changes only what it showed: each topic it showed is
 * set as posted, other topics are left alone. "Unsubscribe from everything" ticked unsubscribes
 * from all marketing; unticked it subscribes again only when the form showed it ticked (the
 * person unticked it). A form drawn while the contact was subscribed, posted after they
 * unsubscribed elsewhere, says nothing about that: an unticked box is only what the form showed
 * then. Null when the contact is gone.
 */
export async function savePreferences(
  env: Env,
  db: Db,
  orgId: string,
  contactId: string,
  form: PreferenceForm,
): Promise<ContactRow | null> {
  const contact = await getContact(db, orgId, contactId);
  if (!contact || contact.erasedAt) {
    return null;
  }
  const next = await updateContact(db, contact, {
    topics: Object.fromEntries(form.shown.map((k) => [k, form.chosen.has(k)])),
    ...(form.everything ? { subscribed: false } : form.everythingShown ? { subscribed: true } : {}),
  });
  await notifyContactChange(env, db, contact, next, false);
  return next;
}

/** Double opt-in: marks the contact pending and queues its confirmation email. */
export async function requestConfirmation(
  env: Env,
  db: Db,
  contact: ContactRow,
  templateId?: string,
): Promise<ContactRow> {
  const next =
    contact.consent === "pending"
      ? contact
      : await updateContact(db, contact, { consent: "pending" });
  await env.EVENT_QUEUE.send({
    kind: "confirm",
    orgId: contact.orgId,
    contactId: contact.id,
    ...(templateId ? { templateId } : {}),
  });
  return next;
}

const DEFAULT_CONFIRMATION = {
  subject: "Please confirm your subscription",
  html: '<p>Hi {{ contact.firstName | default: "there" }},</p><p>Please confirm that you want to hear from us:</p><p><a href="{{ confirm_url }}">Confirm my subscription</a></p><p>If you did not ask for this, ignore this email.</p>',
};

/** The confirmation email of a pending contact (sent through the org's default connection). */
export async function sendConfirmation(
  env: Env,
  db: Db,
  orgId: string,
  contactId: string,
  templateId?: string,
) {
  const contact = await getContact(db, orgId, contactId);
  if (!contact?.email || contact.consent !== "pending" || contact.erasedAt) {
    return; // confirmed meanwhile, or gone
  }
  const base = await publicUrl(env, db, orgId);
  const confirmUrl = trackingUrl(
    base,
    "s",
    await signToken(env, { k: "s", g: orgId, m: contactId, c: contactId }),
  );
  const template = templateId ? await getTemplate(db, orgId, templateId) : undefined;
  const source = template
    ? { subject: template.subject, html: template.html, text: template.text ?? null }
    : DEFAULT_CONFIRMATION;
  const rendered = renderTemplate(source, {
    contact: contactSnapshot(contact),
    vars: {},
    event: {},
    workflow: { id: "", name: "" },
    enrollment: { id: "" },
    unsubscribeUrl: "",
    ...({ confirm_url: confirmUrl, confirmUrl } as object),
  } as Parameters<typeof renderTemplate>[1]);
  const { provider, credentials, from } = await loadSender(env, db, orgId);
  await provider.send(
    {
      messageId: newId("msg"),
      idempotencyKey: `confirm:${contactId}`,
      from: from ?? "Nudge <no-reply@nudge.local>",
      to: contact.email,
      subject: rendered.subject,
      html: rendered.html,
      text: rendered.text ?? htmlToText(rendered.html),
      headers: {},
    },
    { env, orgId, credentials },
  );
}

/** The confirmation link followed: the contact is confirmed, once; `contact.confirmed` is recorded. */
export async function confirmSubscription(env: Env, db: Db, orgId: string, contactId: string) {
  const contact = await getContact(db, orgId, contactId);
  if (!contact || contact.erasedAt) {
    return null;
  }
  if (contact.consent === "pending") {
    const next = await updateContact(db, contact, { consent: "confirmed" });
    await recordSystemEvent(env, db, {
      orgId,
      contactId,
      name: "contact.confirmed",
      data: { contact: contactSnapshot(next) },
      key: `${contactId}:confirmed`,
    });
    return next;
  }
  return contact;
}

/** A one-click unsubscribe from a message sent under a topic: that topic off, nothing else. */
export async function unsubscribeFromTopic(
  env: Env,
  db: Db,
  orgId: string,
  contactId: string,
  topic: string,
) {
  const contact = await getContact(db, orgId, contactId);
  if (!contact || contact.erasedAt || contact.topics[topic] === false) {
    return;
  }
  const next = await updateContact(db, contact, { topics: { [topic]: false } });
  await notifyContactChange(env, db, contact, next, false);
}
