// The D1 schema (drizzle). Times are epoch milliseconds; JSON columns hold text.
import { sql } from "drizzle-orm";
import {
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import type { MailboxLimits, SendingPolicy } from "../engine/governance";
import {
  ENROLLMENT_ERROR_CODES,
  type SendWindow,
  type StepDef,
  type TransitionDef,
  type WorkflowDefinition,
  type WorkflowGoal,
} from "../engine/types";
import type { MessageJob } from "../ground/queues";
import type { ExecutionPolicy } from "../ground/rpc";
import { KEY_SCOPES } from "../ground/scopes";

const json = <T>(name: string) => text(name, { mode: "json" }).$type<T>();
const ms = (name: string) => integer(name);

export const orgs = sqliteTable("orgs", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** The time zone analytics count days in (besides UTC); PATCH /v1/account sets it. */
  reportingTimezone: text("reporting_timezone").notNull().default("UTC"),
  /** Frequency caps and quiet hours (PUT /v1/settings/sending); null: none. */
  sendingPolicy: json<SendingPolicy>("sending_policy"),
  /** How its hosted pages (preferences, confirmation) look: name, logo URL, accent colour. */
  branding: json<{ name?: string; logoUrl?: string; accentColor?: string }>("branding"),
  /**
   * With PUBLIC_URL unset: the origin its links use, learned from its own API requests (never
   * another org's); null until its first one. accounts/public-url.ts.
   */
  publicUrl: text("public_url"),
  createdAt: ms("created_at").notNull(),
});

export const QUOTA_RESOURCES = ["contacts", "workflows", "webhooks", "templates"] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];

/**
 * Per org and resource: how many exist and how many may. Kept by triggers (migration
 * 0002_quotas.sql): an insert past `quota` aborts with `quota_exceeded:<resource>`. Erased
 * contacts and archived workflows do not count.
 */
export const orgUsage = sqliteTable(
  "org_usage",
  {
    orgId: text("org_id").notNull(),
    resource: text("resource", { enum: QUOTA_RESOURCES }).notNull(),
    used: integer("used").notNull(),
    quota: integer("quota").notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.resource] })],
);

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    name: text("name").notNull(),
    keyHash: text("key_hash").notNull(),
    prefix: text("prefix").notNull(),
    lastFour: text("last_four").notNull(),
    scope: text("scope", { enum: KEY_SCOPES }).notNull().default("full"),
    expiresAt: ms("expires_at"),
    revokedAt: ms("revoked_at"),
    createdAt: ms("created_at").notNull(),
  },
  (t) => [uniqueIndex("api_keys_hash").on(t.keyHash), index("api_keys_org").on(t.orgId, t.id)],
);

/** Request counts per key per hour, flushed in batches (see src/http/usage.ts). */
export const apiKeyUsage = sqliteTable(
  "api_key_usage",
  {
    keyId: text("key_id").notNull(),
    hour: integer("hour").notNull(),
    requests: integer("requests").notNull(),
    lastUsedAt: ms("last_used_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.keyId, t.hour] })],
);

export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    orgId: text("org_id").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    state: text("state", { enum: ["running", "done"] }).notNull(),
    responseStatus: integer("response_status"),
    responseBody: text("response_body"),
    createdAt: ms("created_at").notNull(),
    expiresAt: ms("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.key] }), index("idempotency_expires").on(t.expiresAt)],
);

export const contacts = sqliteTable(
  "contacts",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    email: text("email"),
    phone: text("phone"),
    externalId: text("external_id"),
    firstName: text("first_name"),
    lastName: text("last_name"),
    timezone: text("timezone"),
    data: json<Record<string, unknown>>("data").notNull(),
    subscribed: integer("subscribed", { mode: "boolean" }).notNull(),
    /** The contact's own choices per topic key (absent: the topic's default). */
    topics: json<Record<string, boolean>>("topics").notNull().default({}),
    /** Double opt-in: `pending` until the confirmation link is followed, then `confirmed`. */
    consent: text("consent", { enum: ["pending", "confirmed"] }),
    /** False after the contact texted STOP (START sets it again); SMS steps skip it. */
    smsSubscribed: integer("sms_subscribed", { mode: "boolean" }).notNull().default(true),
    suppressed: text("suppressed", { enum: ["bounced", "complained"] }),
    /** The last lead score (0–100) an agent gave (POST /v1/agents/{id}/score_lead, step score_lead). */
    score: integer("score"),
    scoredAt: ms("scored_at"),
    unsubscribedAt: ms("unsubscribed_at"),
    erasedAt: ms("erased_at"),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("contacts_email").on(t.orgId, t.email).where(sql`email is not null`),
    uniqueIndex("contacts_external").on(t.orgId, t.externalId).where(sql`external_id is not null`),
    uniqueIndex("contacts_phone").on(t.orgId, t.phone).where(sql`phone is not null`),
    index("contacts_org").on(t.orgId, t.id),
  ],
);

export const events = sqliteTable(
  "events",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    contactId: text("contact_id").notNull(),
    name: text("name").notNull(),
    data: json<Record<string, unknown>>("data").notNull(),
    occurredAt: ms("occurred_at").notNull(),
    receivedAt: ms("received_at").notNull(),
    /**
     * The client's own id for the event (POST /v1/events `id`), or the key of a system event
     * recorded without a time of its own (see src/contacts/history.ts): never stored twice.
     */
    clientId: text("client_id"),
  },
  // No index by name: no query reads events by name (each entry would be a row written per event).
  (t) => [
    index("events_contact_time").on(t.orgId, t.contactId, t.occurredAt),
    uniqueIndex("events_client_id").on(t.orgId, t.clientId).where(sql`client_id is not null`),
  ],
);

/**
 * Tracked events accepted but not fanned out yet (the event's own outbox): the event consumer
 * claims and deletes a row when it has fanned the event out; the watchdog re-queues a row whose
 * job was lost, so an accepted event is never lost.
 */
export const eventFanouts = sqliteTable("event_fanouts", {
  eventId: text("event_id").primaryKey(),
  orgId: text("org_id").notNull(),
  queuedAt: ms("queued_at").notNull(),
  claimedAt: ms("claimed_at"),
});

/**
 * Settings of the deployment (not of an org). `public_url`: the origin learned when PUBLIC_URL is
 * unset, before origins were learned per org (orgs.public_url); still read, never written.
 */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: ms("updated_at").notNull(),
});

export const templates = sqliteTable(
  "templates",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    name: text("name").notNull(),
    subject: text("subject").notNull(),
    html: text("html").notNull(),
    text: text("text"),
    from: text("from_address"),
    replyTo: text("reply_to"),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [index("templates_org").on(t.orgId, t.id)],
);

export const workflows = sqliteTable(
  "workflows",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    name: text("name").notNull(),
    description: text("description"),
    status: text("status", { enum: ["draft", "active", "paused", "archived"] }).notNull(),
    triggerType: text("trigger_type", { enum: ["manual", "event"] }).notNull(),
    triggerEvent: text("trigger_event"),
    allowReentry: integer("allow_reentry", { mode: "boolean" }).notNull(),
    exitOn: json<string[]>("exit_on").notNull(),
    /** End an enrollment `completed` (exitReason `replied`) on a human reply; null: on when the workflow has 2+ emails. */
    stopOnReply: integer("stop_on_reply", { mode: "boolean" }),
    /** On an automatic reply: `ignore`, or `pause_until_return` (the date it names, else 7 days). */
    onAutoReply: text("on_auto_reply", { enum: ["ignore", "pause_until_return"] }),
    timezone: text("timezone"),
    sendWindow: json<SendWindow>("send_window"),
    /** When SMS and calls may go out (within 08:00–21:00 local); null: 08:00–21:00 every day. */
    callWindow: json<SendWindow>("call_window"),
    /** Variables every enrollment must bring (422 missing_variables otherwise). */
    requiredVariables: json<string[]>("required_variables"),
    /** Contact chaining: the step outcomes that count as a chain's success (default answered). */
    chain: json<{ successOutcomes: string[] }>("chain"),
    /** The category of email and SMS steps that name none; null: marketing. */
    category: text("category", { enum: ["marketing", "transactional"] }),
    /** Over a frequency cap: wait for room (defer, null) or skip the send (outcome capped). */
    onCap: text("on_cap", { enum: ["defer", "skip"] }),
    /** Email steps that name no connection send from this pool of connection ids. */
    connectionPool: json<string[]>("connection_pool"),
    /** A conversion: the contact tracks `event` within `withinDays` of enrolling. */
    goal: json<WorkflowGoal>("goal"),
    goalEvent: text("goal_event"),
    steps: json<StepDef[]>("steps").notNull(),
    transitions: json<TransitionDef[]>("transitions").notNull(),
    version: integer("version").notNull(),
    deletedAt: ms("deleted_at"),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [
    index("workflows_org").on(t.orgId, t.id),
    index("workflows_trigger").on(t.orgId, t.triggerEvent, t.status),
    index("workflows_goal").on(t.orgId, t.goalEvent).where(sql`goal_event is not null`),
  ],
);

/** Immutable: one row per saved change of steps/transitions/settings. */
export const workflowVersions = sqliteTable(
  "workflow_versions",
  {
    workflowId: text("workflow_id").notNull(),
    version: integer("version").notNull(),
    definition: json<WorkflowDefinition>("definition").notNull(),
    createdAt: ms("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.workflowId, t.version] })],
);

export const ACTIVE_STATUSES = ["running", "waiting"] as const;

export const enrollments = sqliteTable(
  "enrollments",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    workflowId: text("workflow_id").notNull(),
    workflowVersion: integer("workflow_version").notNull(),
    contactId: text("contact_id").notNull(),
    status: text("status", {
      enum: ["running", "waiting", "completed", "cancelled", "failed"],
    }).notNull(),
    currentStepId: text("current_step_id"),
    nextRunAt: ms("next_run_at"),
    waitingEvent: text("waiting_event"),
    waitingUntil: ms("waiting_until"),
    variables: json<Record<string, unknown>>("variables").notNull(),
    timezone: text("timezone").notNull(),
    scheduledAt: ms("scheduled_at"),
    bypassSendWindow: integer("bypass_send_window", { mode: "boolean" }).notNull(),
    bypassCallWindow: integer("bypass_call_window", { mode: "boolean" }).notNull().default(false),
    triggerEvent: json<{ name: string; data: Record<string, unknown> } | null>("trigger_event"),
    exitReason: text("exit_reason"),
    /** The variant the enrollment's first A/B split chose (conversions are attributed to it). */
    variant: text("variant"),
    error: text("error"),
    errorCode: text("error_code", { enum: ENROLLMENT_ERROR_CODES }),
    seq: integer("seq").notNull(),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
    completedAt: ms("completed_at"),
    /** Effects handed to a queue that their consumer has not confirmed yet. */
    pendingEffects: integer("pending_effects").notNull().default(0),
    /**
     * Contact chaining (enrolled with `groupBy`): the chain (the grouping variable's value), this
     * link's place in it, and its state: `pending` (waits its turn; its object not started),
     * `active`, `ended` (ended without success: the next link started), `succeeded` (the rest
     * were cancelled), `cancelled` (chain_satisfied, or cancelled while pending).
     */
    chainKey: text("chain_key"),
    chainPosition: integer("chain_position"),
    chainState: text("chain_state", {
      enum: ["pending", "active", "ended", "succeeded", "cancelled"],
    }),
  },
  (t) => [
    uniqueIndex("enrollments_one_active")
      .on(t.workflowId, t.contactId)
      .where(sql`status in ('running', 'waiting')`),
    index("enrollments_org").on(t.orgId, t.id),
    index("enrollments_workflow").on(t.workflowId, t.status, t.id),
    // Also serves "waiting for an event" lookups: a contact has few enrollments.
    index("enrollments_contact").on(t.contactId, t.status),
    index("enrollments_due").on(t.nextRunAt).where(sql`next_run_at is not null`),
    uniqueIndex("enrollments_chain")
      .on(t.chainKey, t.workflowId, t.chainPosition)
      .where(sql`chain_key is not null`),
  ],
);

/**
 * Per step and day (in UTC, and in the org's reporting zone when it differs): steps entered,
 * completed and failed, the enrollments that ended there (by how), and the histogram of times
 * from entering the previous step (buckets of src/engine/metrics.ts gapBucket). Kept by the
 * enrollment objects in their mirror write, guarded by its seq. WITHOUT ROWID (migration 0008).
 */
export const stepDaily = sqliteTable(
  "step_daily",
  {
    workflowId: text("workflow_id").notNull(),
    stepId: text("step_id").notNull(),
    zone: text("zone").notNull(),
    day: text("day").notNull(),
    entered: integer("entered").notNull(),
    completed: integer("completed").notNull(),
    failed: integer("failed").notNull(),
    ended: json<Record<string, number>>("ended").notNull(),
    gaps: json<Record<string, number>>("gaps").notNull(),
  },
  (t) => [primaryKey({ columns: [t.workflowId, t.stepId, t.zone, t.day] })],
);

export const messages = sqliteTable(
  "messages",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    key: text("effect_key").notNull(),
    enrollmentId: text("enrollment_id"),
    workflowId: text("workflow_id"),
    stepId: text("step_id"),
    contactId: text("contact_id").notNull(),
    /** email, sms or call. */
    channel: text("channel", { enum: ["email", "sms", "call"] })
      .notNull()
      .default("email"),
    category: text("category", { enum: ["marketing", "transactional"] })
      .notNull()
      .default("marketing"),
    /** The topic it was sent under: its one-click unsubscribe stops that topic only. */
    topic: text("topic"),
    to: text("to_address").notNull(),
    subject: text("subject"),
    /** An SMS's text, or a call's script. */
    body: text("body"),
    /** A call's outcome: answered, voicemail, no_answer, busy, failed. */
    outcome: text("outcome"),
    durationSeconds: integer("duration_seconds"),
    /** A voice agent's summary of the call. */
    summary: text("summary"),
    provider: text("provider"),
    /** The connection the message was sent through (null: the deployment's default sender). */
    connectionId: text("connection_id"),
    providerMessageId: text("provider_message_id"),
    status: text("status", {
      enum: ["queued", "sent", "delivered", "bounced", "complained", "failed", "suppressed"],
    }).notNull(),
    error: text("error"),
    opens: integer("opens").notNull(),
    clicks: integer("clicks").notNull(),
    machineOpens: integer("machine_opens").notNull(),
    machineClicks: integer("machine_clicks").notNull(),
    unsubscribed: integer("unsubscribed", { mode: "boolean" }).notNull(),
    firstOpenedAt: ms("first_opened_at"),
    lastOpenedAt: ms("last_opened_at"),
    firstClickedAt: ms("first_clicked_at"),
    lastClickedAt: ms("last_clicked_at"),
    /** Last counted human click per link index: clicks of one link within a minute count once. */
    linkClickedAt: json<Record<string, number>>("link_clicked_at"),
    deliveredAt: ms("delivered_at"),
    /** The Message-ID header Nudge gave the email (`<msg_...@domain>`): replies point at it. */
    rfcMessageId: text("rfc_message_id"),
    repliedAt: ms("replied_at"),
    autoRepliedAt: ms("auto_replied_at"),
    sendingAt: ms("sending_at"),
    /** When the next attempt is due; the watchdog re-queues a queued message long past it. */
    nextAttemptAt: ms("next_attempt_at"),
    /** The queue job, kept so a job lost by a queue can be sent again. */
    job: json<MessageJob>("job"),
    createdAt: ms("created_at").notNull(),
    sentAt: ms("sent_at"),
    /**
     * Its settled fact (sent, suppressed or failed) is in the rollups: the row itself keeps a
     * retried count from counting twice, instead of a metric_facts row per message.
     */
    counted: integer("counted", { mode: "boolean" }).notNull().default(false),
  },
  // Every index entry is a row written (D1 counts them). Partial indexes leave out the rows
  // no query asks for: a message enters the sent-time indexes once sent, the due index only
  // while queued. An enrollment's messages are found by their effect key's prefix (the key is
  // `enrollmentId:stepId:visit`), so there is no enrollment index; a reply's references by the
  // message id inside Nudge's Message-ID, so none on rfc_message_id. Query plans:
  // docs/scale.md, "Indexes on the email path".
  (t) => [
    index("messages_due").on(t.nextAttemptAt).where(sql`status = 'queued'`),
    uniqueIndex("messages_key").on(t.key),
    index("messages_org").on(t.orgId, t.id),
    index("messages_contact").on(t.contactId),
    index("messages_provider_id")
      .on(t.orgId, t.providerMessageId)
      .where(sql`provider_message_id is not null`),
    index("messages_step").on(t.workflowId, t.stepId),
    index("messages_to").on(t.to, t.sentAt).where(sql`sent_at is not null`),
    index("messages_connection")
      .on(t.connectionId, t.sentAt)
      .where(sql`connection_id is not null and sent_at is not null`),
  ],
);

/** What the capture provider kept instead of sending (src/db/captured.ts); the table keeps the API's name. */
export const captured = sqliteTable(
  "outbox",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    messageId: text("message_id").notNull(),
    channel: text("channel", { enum: ["email", "sms", "call"] })
      .notNull()
      .default("email"),
    to: text("to_address").notNull(),
    from: text("from_address").notNull(),
    subject: text("subject").notNull(),
    html: text("html").notNull(),
    text: text("text").notNull(),
    headers: json<Record<string, string>>("headers").notNull(),
    createdAt: ms("created_at").notNull(),
  },
  // One row per message by the primary key (its id derives from the message's, see
  // src/db/captured.ts): no unique index on message_id to write.
  (t) => [index("outbox_org").on(t.orgId, t.id)],
);

/**
 * Tasks for people (a call to make, a LinkedIn touch): one per task step visit (unique by the
 * effect key); the enrollment waits until it is completed, skipped or expired.
 */
export const tasks = sqliteTable(
  "tasks",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    key: text("effect_key").notNull(),
    enrollmentId: text("enrollment_id").notNull(),
    workflowId: text("workflow_id").notNull(),
    stepId: text("step_id").notNull(),
    contactId: text("contact_id").notNull(),
    taskType: text("task_type", { enum: ["call", "linkedin", "email", "custom"] }).notNull(),
    title: text("title").notNull(),
    instructions: text("instructions"),
    assignee: text("assignee"),
    outcomes: json<string[]>("outcomes").notNull(),
    status: text("status", { enum: ["open", "completed", "skipped", "expired"] }).notNull(),
    outcome: text("outcome"),
    note: text("note"),
    dueAt: ms("due_at").notNull(),
    createdAt: ms("created_at").notNull(),
    completedAt: ms("completed_at"),
  },
  (t) => [
    uniqueIndex("tasks_key").on(t.key),
    index("tasks_org").on(t.orgId, t.id),
    index("tasks_org_status").on(t.orgId, t.status, t.id),
    index("tasks_due").on(t.status, t.dueAt),
  ],
);

/** Topics a contact may subscribe to one by one (newsletter, product updates). */
export const topics = sqliteTable(
  "topics",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    key: text("topic_key").notNull(),
    name: text("name").notNull(),
    description: text("description"),
    defaultSubscribed: integer("default_subscribed", { mode: "boolean" }).notNull(),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [uniqueIndex("topics_key").on(t.orgId, t.key), index("topics_org").on(t.orgId, t.id)],
);

/**
 * Frequency-cap slots: one row per marketing send (its effect key) a contact was counted for,
 * in the calendar day and ISO week of the contact's time zone. A slot is claimed by one
 * conditional insert that counts the rows already there, so concurrent sends cannot pass a cap.
 */
export const sendClaims = sqliteTable(
  "send_claims",
  {
    key: text("effect_key").primaryKey(),
    orgId: text("org_id").notNull(),
    contactId: text("contact_id").notNull(),
    capKey: text("cap_key").notNull(),
    day: text("day").notNull(),
    week: text("week").notNull(),
    createdAt: ms("created_at").notNull(),
  },
  (t) => [
    index("send_claims_week").on(t.contactId, t.capKey, t.week),
    index("send_claims_created").on(t.createdAt),
  ],
);

export const connections = sqliteTable(
  "connections",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    provider: text("provider").notNull(),
    key: text("connection_key").notNull(),
    credentials: text("credentials_enc").notNull(),
    from: text("from_address"),
    /** Replies go to reply+<token>@this domain (routed to the Worker by Email Routing). */
    replyDomain: text("reply_domain"),
    /** How fast it may send (its mailbox object schedules the slots); null: no limits. */
    limits: json<MailboxLimits>("limits"),
    /** Paused by a bounce or complaint storm (or by hand) until resumed. */
    pausedAt: ms("paused_at"),
    pausedReason: text("paused_reason"),
    /** Its health (bounce and complaint rates) counts sends from here on (set on resume). */
    healthSince: ms("health_since"),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("connections_key").on(t.orgId, t.key),
    index("connections_org").on(t.orgId, t.id),
  ],
);

export const webhooks = sqliteTable(
  "webhooks",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    url: text("url").notNull(),
    events: json<string[]>("events").notNull(),
    description: text("description"),
    active: integer("active", { mode: "boolean" }).notNull(),
    secret: text("secret_enc").notNull(),
    previousSecret: text("previous_secret_enc"),
    previousSecretExpiresAt: ms("previous_secret_expires_at"),
    failingSince: ms("failing_since"),
    disabledReason: text("disabled_reason"),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [index("webhooks_org").on(t.orgId, t.id)],
);

export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    webhookId: text("webhook_id").notNull(),
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    payload: text("payload").notNull(),
    status: text("status", { enum: ["pending", "succeeded", "failed"] }).notNull(),
    attempts: integer("attempts").notNull(),
    lastStatusCode: integer("last_status_code"),
    nextAttemptAt: ms("next_attempt_at"),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("deliveries_once").on(t.webhookId, t.eventId),
    index("deliveries_webhook").on(t.webhookId, t.id),
    index("deliveries_due").on(t.status, t.nextAttemptAt),
  ],
);

export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    deliveryId: text("delivery_id").notNull(),
    attempt: integer("attempt").notNull(),
    statusCode: integer("status_code"),
    durationMs: integer("duration_ms").notNull(),
    error: text("error"),
    nextAttemptAt: ms("next_attempt_at"),
    at: ms("at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.attempt] })],
);

/** Where an import row was: its index among the rows sent and, in a CSV file, its line. */
export interface RowAt {
  row: number;
  line: number;
}

/** A rejected import row: its index among the rows, its line in a CSV file, and why. */
export interface ImportError {
  row: number;
  line?: number;
  message: string;
}

export const imports = sqliteTable(
  "imports",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    workflowId: text("workflow_id"),
    status: text("status", { enum: ["queued", "processing", "completed", "failed"] }).notNull(),
    total: integer("total").notNull(),
    processed: integer("processed").notNull(),
    created: integer("created").notNull(),
    skipped: integer("skipped").notNull(),
    failed: integer("failed").notNull(),
    errors: json<ImportError[]>("errors").notNull(),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [
    index("imports_org").on(t.orgId, t.id),
    index("imports_status").on(t.status, t.updatedAt),
  ],
);

/** Rows of an import waiting for their chunk to be processed (kept out of queue messages' size limit). */
export const importRows = sqliteTable(
  "import_rows",
  {
    importId: text("import_id").notNull(),
    chunk: integer("chunk").notNull(),
    rows: json<unknown[]>("rows").notNull(),
    /** CSV imports: each row's index in the file's rows and its line (JSON rows: by position). */
    lines: json<RowAt[]>("lines"),
  },
  (t) => [primaryKey({ columns: [t.importId, t.chunk] })],
);

/**
 * Provider event ids already applied, per connection (one tenant's events can never shadow
 * another's), so a redelivered inbound webhook is ignored.
 */
export const inboundEvents = sqliteTable(
  "inbound_events",
  {
    connectionId: text("connection_id").notNull(),
    eventId: text("event_id").notNull(),
    receivedAt: ms("received_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.connectionId, t.eventId] })],
);

/**
 * Mail received by the email() handler or a provider's inbound webhook: what it was matched to
 * (by reply token, by In-Reply-To/References, by sender, or not at all) and how it was classified.
 */
export const inboundMail = sqliteTable(
  "inbound_mail",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id"),
    messageId: text("message_id"),
    via: text("via").notNull(),
    match: text("match", { enum: ["token", "header", "sender", "none"] }).notNull(),
    kind: text("kind", { enum: ["reply", "auto_reply", "bounce", "unmatched"] }).notNull(),
    from: text("from_address").notNull(),
    to: text("to_address").notNull(),
    subject: text("subject"),
    text: text("text"),
    reason: text("reason"),
    returnAt: ms("return_at"),
    receivedAt: ms("received_at").notNull(),
  },
  (t) => [
    index("inbound_mail_org").on(t.orgId, t.id),
    index("inbound_mail_message").on(t.messageId),
  ],
);

/**
 * Counted facts (a message sent, opened, an enrollment ended, a step entered ...), one row
 * each, keyed by an id derived from what happened — a retried write of the same fact is
 * ignored, and only the rows a write inserted are added to the rollups (by `batch`). Kept
 * 35 days (the watchdog prunes older ones). Not every count has a row: an enrollment's own are
 * guarded by its mirror's seq, a message's settled one (sent, suppressed) by its row's
 * `counted` flag (src/analytics/facts.ts).
 */
export const metricFacts = sqliteTable(
  "metric_facts",
  {
    id: text("id").primaryKey(),
    batch: text("batch").notNull(),
    orgId: text("org_id").notNull(),
    at: ms("at").notNull(),
    dayUtc: text("day_utc").notNull(),
    zone: text("zone").notNull(),
    dayLocal: text("day_local").notNull(),
    workflowId: text("workflow_id").notNull(),
    stepId: text("step_id").notNull(),
    channel: text("channel").notNull(),
    connectionId: text("connection_id").notNull(),
    category: text("category").notNull(),
    variant: text("variant").notNull(),
    metric: text("metric").notNull(),
    value: integer("value").notNull(),
  },
  (t) => [index("metric_facts_batch").on(t.batch), index("metric_facts_at").on(t.at)],
);

/**
 * Daily counts per org × zone (UTC, and the org's reporting time zone) × day × workflow ×
 * step × channel × connection × category × variant × metric. Empty dimensions are ''.
 * Written only by adding: from metric_facts, or from facts guarded by their owner's state.
 */
export const metricRollups = sqliteTable(
  "metric_rollups",
  {
    orgId: text("org_id").notNull(),
    zone: text("zone").notNull(),
    day: text("day").notNull(),
    workflowId: text("workflow_id").notNull(),
    stepId: text("step_id").notNull(),
    channel: text("channel").notNull(),
    connectionId: text("connection_id").notNull(),
    category: text("category").notNull(),
    variant: text("variant").notNull(),
    metric: text("metric").notNull(),
    value: integer("value").notNull(),
  },
  (t) => [
    primaryKey({
      columns: [
        t.orgId,
        t.zone,
        t.day,
        t.workflowId,
        t.stepId,
        t.channel,
        t.connectionId,
        t.category,
        t.variant,
        t.metric,
      ],
    }),
    index("metric_rollups_workflow").on(t.orgId, t.zone, t.workflowId, t.day),
  ],
);

/**
 * Daily totals per org × zone × workflow × metric (every other dimension summed), and per org
 * under workflow "*": what reads without a finer grouping use. WITHOUT ROWID (migration
 * 0007): the primary key is the table, so a workflow's metrics over a year are one contiguous
 * range per metric, read without a lookup per row.
 */
export const metricTotals = sqliteTable(
  "metric_totals",
  {
    orgId: text("org_id").notNull(),
    zone: text("zone").notNull(),
    workflowId: text("workflow_id").notNull(),
    metric: text("metric").notNull(),
    day: text("day").notNull(),
    value: integer("value").notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.zone, t.workflowId, t.metric, t.day] })],
);

export const REPORT_TYPES = [
  "workflow_performance",
  "deliverability",
  "enrollments_export",
  "messages_export",
  "contacts_export",
] as const;
export type ReportType = (typeof REPORT_TYPES)[number];

/** Where a report being built is: the multipart upload, its parts, and the next page's cursor. */
export interface ReportProgress {
  uploadId: string;
  parts: { partNumber: number; etag: string }[];
  cursor: string | null;
  /** Rows not yet uploaded are rebuilt from `cursor`; these are the ones uploaded. */
  rows: number;
  bytes: number;
  pages: number;
}

export interface ReportSchedule {
  cron: string;
  timezone: string;
  emails: string[];
}

export const reports = sqliteTable(
  "reports",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    type: text("type", { enum: REPORT_TYPES }).notNull(),
    format: text("format", { enum: ["csv", "json"] }).notNull(),
    params: json<Record<string, unknown>>("params").notNull(),
    status: text("status", { enum: ["queued", "running", "completed", "failed"] }).notNull(),
    /** Each (re)generation gets the next number; a job of an older one stops. */
    generation: integer("generation").notNull(),
    rows: integer("rows"),
    bytes: integer("bytes"),
    pages: integer("pages"),
    error: text("error"),
    objectKey: text("object_key"),
    progress: json<ReportProgress>("progress"),
    schedule: json<ReportSchedule>("schedule"),
    nextRunAt: ms("next_run_at"),
    startedAt: ms("started_at"),
    completedAt: ms("completed_at"),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [
    index("reports_org").on(t.orgId, t.id),
    index("reports_due").on(t.nextRunAt).where(sql`next_run_at is not null`),
    index("reports_stuck").on(t.status, t.updatedAt),
  ],
);

// ---- agents ----------------------------------------------------------------------------------

/** A prompt template for LLM agents: Liquid prompt, output JSON Schema, model, policy. */
export const agentTemplates = sqliteTable(
  "agent_templates",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    name: text("name").notNull(),
    prompt: text("prompt").notNull(),
    system: text("system_prompt"),
    outputSchema: json<Record<string, unknown>>("output_schema").notNull(),
    /** An LLM connection of the org; null: the org's default LLM connection. */
    connectionId: text("connection_id"),
    model: text("model"),
    temperature: real("temperature"),
    maxTokens: integer("max_tokens").notNull(),
    /** Paths into the render scope (`input.contact.email`) whose values are redacted in kept prompts. */
    personalFields: json<string[]>("personal_fields").notNull(),
    reasoningRetentionDays: integer("reasoning_retention_days").notNull(),
    policy: json<ExecutionPolicy>("policy").notNull(),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [index("agent_templates_org").on(t.orgId, t.id)],
);

/** An org's automation unit: a workflow, an LLM template, or the customer's own code. */
export const agents = sqliteTable(
  "agents",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    name: text("name").notNull(),
    type: text("type", { enum: ["workflow", "template", "code"] }).notNull(),
    workflowId: text("workflow_id"),
    templateId: text("template_id"),
    endpoint: text("endpoint"),
    /** Signs code-agent calls (Standard Webhooks), encrypted at rest. */
    secret: text("secret"),
    configuration: json<Record<string, string | number | boolean>>("configuration").notNull(),
    /** The policy of workflow and code agents (template agents use their template's). */
    policy: json<ExecutionPolicy>("policy").notNull(),
    status: text("status", { enum: ["active", "paused"] }).notNull(),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [uniqueIndex("agents_name").on(t.orgId, t.name), index("agents_org").on(t.orgId, t.id)],
);

export const EXECUTION_STATUSES = [
  "queued",
  "running",
  "succeeded",
  "failed",
  "cancelled",
] as const;

/** One run of an agent: idempotent per (agent, key); its result, timing and cost. */
export const agentExecutions = sqliteTable(
  "agent_executions",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    agentId: text("agent_id").notNull(),
    idempotencyKey: text("idempotency_key").notNull(),
    /** SHA-256 of the request body: the same key with another body is refused. */
    requestHash: text("request_hash").notNull(),
    kind: text("kind", { enum: ["execute", "inference", "score", "step"] }).notNull(),
    input: json<Record<string, unknown>>("input").notNull(),
    status: text("status", { enum: EXECUTION_STATUSES }).notNull(),
    output: json<unknown>("output"),
    error: json<{ code: string; message: string }>("error"),
    enrollmentId: text("enrollment_id"),
    /** The workflow step that ran it: its enrollment and effect key get the outcome. */
    origin: json<{ enrollmentId: string; key: string }>("origin"),
    model: text("model"),
    tokensIn: integer("tokens_in").notNull().default(0),
    tokensOut: integer("tokens_out").notNull().default(0),
    costUsd: real("cost_usd").notNull().default(0),
    attempts: integer("attempts").notNull().default(0),
    createdAt: ms("created_at").notNull(),
    startedAt: ms("started_at"),
    finishedAt: ms("finished_at"),
    /** When the watchdog last sent it on again (a queued or running execution whose job may be lost). */
    checkedAt: ms("checked_at"),
  },
  (t) => [
    uniqueIndex("agent_executions_key").on(t.agentId, t.idempotencyKey),
    index("agent_executions_agent").on(t.agentId, t.id),
    index("agent_executions_org_time").on(t.orgId, t.createdAt),
    index("agent_executions_stuck").on(t.status, t.createdAt),
  ],
);

/** What an execution did, line by line (GET /v1/agents/{id}/logs). */
export const agentLogs = sqliteTable(
  "agent_logs",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    agentId: text("agent_id").notNull(),
    executionId: text("execution_id").notNull(),
    level: text("level", { enum: ["info", "warn", "error"] }).notNull(),
    message: text("message").notNull(),
    at: ms("at").notNull(),
  },
  (t) => [index("agent_logs_agent").on(t.agentId, t.id), index("agent_logs_time").on(t.at)],
);

/** A model exchange kept for review (prompt redacted), deleted after its template's retention. */
export const agentExchanges = sqliteTable(
  "agent_exchanges",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    agentId: text("agent_id").notNull(),
    executionId: text("execution_id").notNull(),
    attempt: integer("attempt").notNull(),
    model: text("model").notNull(),
    prompt: text("prompt").notNull(),
    answer: text("answer").notNull(),
    validationErrors: json<string[]>("validation_errors").notNull(),
    tokensIn: integer("tokens_in").notNull(),
    tokensOut: integer("tokens_out").notNull(),
    at: ms("at").notNull(),
    expiresAt: ms("expires_at").notNull(),
  },
  (t) => [
    index("agent_exchanges_agent").on(t.agentId, t.id),
    index("agent_exchanges_expiry").on(t.expiresAt),
  ],
);
