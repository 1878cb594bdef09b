// Where a contact's personal data can be, table by table, declared next to the schema so that a
// new table cannot be forgotten: the type below has one key per table the schema exports (tsc
// fails until a new one is declared), and the erasure test reads this list, checks it against
// the schema at run time (every table with a contact_id column must be `erased`), seeds a
// contact's data everywhere it can go and scans every `erased` table for it after
// DELETE /v1/contacts/{id}.
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type * as schema from "./schema";

type Schema = typeof schema;
/** The schema's table exports, by their export name. */
export type TableExport = {
  [K in keyof Schema]: Schema[K] extends SQLiteTable ? K : never;
}[keyof Schema];

/**
 * `erased`: the table can hold a contact's personal data, and erasure erases it (how, in
 * words). `none`: why it holds none (or, for a few, why it is not tied to a contact and how long
 * it lives).
 */
export type PersonalData = { erased: string } | { none: string };

export const PERSONAL_DATA: Record<TableExport, PersonalData> = {
  orgs: { none: "the tenant itself" },
  orgUsage: { none: "counters per org" },
  apiKeys: { none: "the tenant's keys" },
  apiKeyUsage: { none: "counters per key" },
  idempotencyKeys: {
    none: "a replayed answer may name a contact, but encrypted and expiring after 24 h: not tied to a contact",
  },
  contacts: { erased: "identifiers, names, data, topics cleared; the row stays as a tombstone" },
  events: { erased: "the contact's events keep their names; data cleared" },
  eventFanouts: { none: "event ids waiting to fan out" },
  settings: { none: "deployment settings" },
  templates: { none: "the tenant's templates (Liquid, not rendered)" },
  workflows: { none: "the tenant's definitions" },
  workflowVersions: { none: "the tenant's definitions" },
  enrollments: { erased: "variables, trigger event and error text cleared" },
  stepDaily: { none: "counts per step and day" },
  messages: { erased: "address, subject, body, summary, error and queue job cleared" },
  captured: { erased: "captured copies of the contact's messages deleted" },
  tasks: { erased: "title, instructions and note (rendered from the contact) replaced" },
  topics: { none: "the tenant's topics" },
  sendClaims: { erased: "the contact's frequency-cap claims deleted" },
  connections: { none: "the tenant's provider credentials" },
  webhooks: { none: "the tenant's subscriptions" },
  webhookDeliveries: {
    erased:
      "payloads naming the contact (data.contactId) or one of its agent executions keep only ids, status and timing",
  },
  webhookAttempts: { none: "status codes and timing of deliveries" },
  imports: { none: "counts, and errors naming rows by line (not tied to a contact)" },
  importRows: { none: "rows waiting to be imported: deleted once their chunk is processed" },
  inboundEvents: { none: "provider event ids already applied" },
  inboundMail: {
    erased:
      "mail matched to the contact's messages or sent from its address: sender, subject, text and reason cleared",
  },
  metricFacts: { none: "counted facts: ids and dimensions" },
  metricRollups: { none: "daily counts" },
  metricTotals: { none: "daily counts" },
  reports: { none: "report runs; their files are rebuilt from the tables on each run" },
  agentTemplates: { none: "the tenant's prompts (Liquid, not rendered)" },
  agents: { none: "the tenant's agents" },
  agentExecutions: {
    erased:
      "executions about the contact (its enrollments, its id, email or phone in the input or output): input and output cleared, error message replaced",
  },
  agentLogs: { erased: "lines of those executions replaced" },
  agentExchanges: { erased: "prompts and answers of those executions deleted" },
};
