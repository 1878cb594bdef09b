// The MCP tools: each one is a documented operation of the REST API, called in-process with
// the caller's own key — the same validation, scopes, org isolation, idempotency and errors.
import { z } from "@hono/zod-openapi";

/** A call to the API; `query` values are strings, `body` is sent as JSON. */
export interface ApiCall {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
}

export interface ToolSpec<S extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  input: S;
  /** readOnlyHint: reads only. destructiveHint: cancels or overwrites something. */
  hints: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean };
  call: (args: z.infer<z.ZodObject<S>>) => ApiCall | ApiCall[];
}

const id = (what: string) => z.string().min(1).max(100).describe(what);
const page = {
  limit: z.number().int().min(1).max(100).optional().describe("Page size, 1–100 (default 50)"),
  cursor: z.string().optional().describe("`nextCursor` of the previous page"),
};
const pageQuery = (a: { limit?: number; cursor?: string }) => ({
  limit: a.limit === undefined ? undefined : String(a.limit),
  cursor: a.cursor,
});
const contactRef = z
  .object({
    email: z.string().optional(),
    externalId: z.string().optional(),
    firstName: z.string().optional(),
    lastName: z.string().optional(),
    phone: z.string().optional().describe("E.164, e.g. +14155552671"),
    name: z.string().optional().describe("Full name, split into first and last name"),
    timezone: z.string().optional(),
    data: z.record(z.string(), z.unknown()).optional().describe("Custom fields (≤ 64 KiB)"),
    subscribed: z.boolean().optional(),
  })
  .describe("The contact, created or updated by email (else externalId, else phone)");
const obj = z.record(z.string(), z.unknown());

const tool = <S extends z.ZodRawShape>(spec: ToolSpec<S>) => spec as unknown as ToolSpec;

export const TOOLS: ToolSpec[] = [
  tool({
    name: "list_workflows",
    title: "List workflows",
    description: "The org's workflows, newest first, with their status and trigger.",
    input: { ...page },
    hints: { readOnlyHint: true },
    call: (a) => ({ method: "GET", path: "/v1/workflows", query: pageQuery(a) }),
  }),
  tool({
    name: "get_workflow",
    title: "Get a workflow",
    description: "One workflow with its steps, transitions and settings.",
    input: { id: id("Workflow id (wf_...)") },
    hints: { readOnlyHint: true },
    call: (a) => ({ method: "GET", path: `/v1/workflows/${encodeURIComponent(a.id)}` }),
  }),
  tool({
    name: "create_workflow",
    title: "Create a workflow",
    description:
      "Creates a draft workflow. Steps: [{id?, type, config}] with types from GET /v1/workflows/step-types (send_email, delay, wait_for_event, condition, split, webhook, update_contact, exit, log); without `transitions` the steps run in order. Dry-run it with test_workflow, then activate_workflow.",
    input: {
      name: z.string().min(1).max(200),
      trigger: obj
        .optional()
        .describe('{type: "manual"} (default) or {type: "event", event: "signed_up"}'),
      steps: z.array(obj).min(1).describe("The steps, each {id?, type, config}"),
      transitions: z.array(obj).optional().describe("[{from, to, on?, condition?, priority?}]"),
      settings: obj
        .optional()
        .describe("Other workflow fields (sendWindow, timezone, exitOn, allowReentry, ...)"),
    },
    hints: {},
    call: (a) => ({
      method: "POST",
      path: "/v1/workflows",
      body: {
        ...(a.settings ?? {}),
        name: a.name,
        ...(a.trigger ? { trigger: a.trigger } : {}),
        steps: a.steps,
        ...(a.transitions ? { transitions: a.transitions } : {}),
      },
    }),
  }),
  tool({
    name: "test_workflow",
    title: "Dry-run a workflow",
    description:
      "Runs the workflow in simulated time with sample data: a trace of every step, nothing sent, nothing stored.",
    input: {
      id: id("Workflow id"),
      sampleData: obj.optional().describe("Contact fields for the run, e.g. {firstName: 'Ada'}"),
      variables: obj.optional(),
    },
    hints: { readOnlyHint: true },
    call: (a) => ({
      method: "POST",
      path: `/v1/workflows/${encodeURIComponent(a.id)}/test`,
      body: { sampleData: a.sampleData ?? {}, variables: a.variables ?? {} },
    }),
  }),
  tool({
    name: "activate_workflow",
    title: "Activate a workflow",
    description: "Sets the workflow's status to active: enrollments start running and sending.",
    input: { id: id("Workflow id") },
    hints: { idempotentHint: true },
    call: (a) => ({
      method: "PATCH",
      path: `/v1/workflows/${encodeURIComponent(a.id)}`,
      body: { status: "active" },
    }),
  }),
  tool({
    name: "enroll_contact",
    title: "Enroll one contact",
    description:
      "Enrolls a contact (by contactId, or a contact object upserted by email) in an active workflow. 409 already_enrolled when it is in it already.",
    input: {
      workflowId: id("Workflow id"),
      contactId: z.string().optional().describe("An existing contact (con_...)"),
      contact: contactRef.optional(),
      variables: obj.optional().describe("Values for templates and conditions of this run"),
      groupBy: z
        .string()
        .optional()
        .describe("Contact chaining: a variable whose value groups enrollments into a chain"),
      bypassCallWindow: z
        .boolean()
        .optional()
        .describe("Let SMS and calls go out outside the call window (08:00–21:00 by default)"),
    },
    hints: {},
    call: (a) => ({ method: "POST", path: "/v1/enrollments", body: a }),
  }),
  tool({
    name: "bulk_enroll",
    title: "Enroll up to 100 contacts",
    description:
      "Enrolls up to 100 contacts (ids or contact objects) in one call; the answer has a result per contact (enrolled, skipped with a reason, invalid).",
    input: {
      workflowId: id("Workflow id"),
      contactIds: z.array(z.string()).max(100).optional(),
      contacts: z.array(contactRef).max(100).optional(),
      variables: obj.optional(),
    },
    hints: {},
    call: (a) => ({ method: "POST", path: "/v1/enrollments/bulk", body: a }),
  }),
  tool({
    name: "track_event",
    title: "Track an event",
    description:
      "Records what a contact did (signed_up, replied, purchased): starts workflows it triggers, resumes enrollments waiting for it, exits those that exit on it. Give contactId, email or externalId; `id` dedupes retries.",
    input: {
      name: z.string().min(1).max(100),
      contactId: z.string().optional(),
      email: z.string().optional(),
      externalId: z.string().optional(),
      data: obj.optional(),
      id: z.string().optional().describe("Your id for the event: sent twice, processed once"),
    },
    hints: {},
    call: (a) => ({ method: "POST", path: "/v1/events", query: { wait: "true" }, body: a }),
  }),
  tool({
    name: "get_enrollment",
    title: "Get an enrollment with its logs",
    description:
      "One enrollment: status, current step, next run, its timeline and messages, and the step log.",
    input: { id: id("Enrollment id (enr_...)") },
    hints: { readOnlyHint: true },
    call: (a) => [
      { method: "GET", path: `/v1/enrollments/${encodeURIComponent(a.id)}` },
      { method: "GET", path: `/v1/enrollments/${encodeURIComponent(a.id)}/logs` },
    ],
  }),
  tool({
    name: "cancel_enrollment",
    title: "Cancel an enrollment",
    description: "Stops an active enrollment: nothing more is sent to the contact by it.",
    input: { id: id("Enrollment id") },
    hints: { destructiveHint: true, idempotentHint: true },
    call: (a) => ({ method: "POST", path: `/v1/enrollments/${encodeURIComponent(a.id)}/cancel` }),
  }),
  tool({
    name: "workflow_stats",
    title: "Workflow statistics",
    description: "Enrollments by status and per-step counts, messages sent, opened, clicked.",
    input: { id: id("Workflow id") },
    hints: { readOnlyHint: true },
    call: (a) => ({ method: "GET", path: `/v1/workflows/${encodeURIComponent(a.id)}/stats` }),
  }),
  tool({
    name: "list_messages",
    title: "List messages",
    description: "Emails sent and scheduled, newest first; filter by contact or enrollment.",
    input: {
      contactId: z.string().optional(),
      enrollmentId: z.string().optional(),
      ...page,
    },
    hints: { readOnlyHint: true },
    call: (a) => ({
      method: "GET",
      path: "/v1/messages",
      query: { contactId: a.contactId, enrollmentId: a.enrollmentId, ...pageQuery(a) },
    }),
  }),
  tool({
    name: "upsert_contact",
    title: "Create or update a contact",
    description:
      "Creates a contact, or updates the one with the same email (else externalId, else phone).",
    input: contactRef.shape,
    hints: { idempotentHint: true },
    call: (a) => ({ method: "POST", path: "/v1/contacts", body: a }),
  }),
  tool({
    name: "list_tasks",
    title: "List tasks",
    description:
      "Tasks that task steps created for people (a call to make, a LinkedIn touch), newest first; filter by status (open, completed, skipped, expired), assignee or workflow.",
    input: {
      status: z.enum(["open", "completed", "skipped", "expired"]).optional(),
      assignee: z.string().optional(),
      workflowId: z.string().optional(),
      ...page,
    },
    hints: { readOnlyHint: true },
    call: (a) => ({
      method: "GET",
      path: "/v1/tasks",
      query: {
        status: a.status,
        assignee: a.assignee,
        workflowId: a.workflowId,
        ...pageQuery(a),
      },
    }),
  }),
  tool({
    name: "complete_task",
    title: "Complete a task",
    description:
      "Completes an open task with one of its declared outcomes (see list_tasks `outcomes`); its enrollment takes the transition on that outcome. 409 task_closed when it is done already.",
    input: {
      id: id("Task id (tsk_...)"),
      outcome: z
        .string()
        .optional()
        .describe("One of the task's outcomes (optional when it has one)"),
      note: z.string().optional(),
    },
    hints: {},
    call: (a) => ({
      method: "POST",
      path: `/v1/tasks/${encodeURIComponent(a.id)}/complete`,
      body: { outcome: a.outcome, note: a.note },
    }),
  }),
  tool({
    name: "execute_agent",
    title: "Execute an agent",
    description:
      "Runs one of the org's agents (a workflow agent enrolls input.contact; a template agent asks a model for JSON matching its schema; a code agent calls its endpoint). Returns the queued execution; the same idempotency_key returns the same execution. Poll GET /v1/agents/{id}/executions/{executionId} (call_api) for its output.",
    input: {
      id: id("Agent id (agt_...)"),
      input: z.record(z.string(), z.unknown()).optional().describe("The execution's input"),
      idempotency_key: z.string().optional().describe("Makes retries safe: one execution per key"),
    },
    hints: { idempotentHint: true },
    call: (a) => ({
      method: "POST",
      path: `/v1/agents/${encodeURIComponent(a.id)}/execute`,
      body: { input: a.input ?? {}, idempotency_key: a.idempotency_key },
    }),
  }),
  tool({
    name: "score_lead",
    title: "Score a lead",
    description:
      "Scores a contact 0–100 with an agent's scoring rules (and optionally a model), with one reason per rule that counted; the score is stored on the contact (contact.score) for conditions.",
    input: { id: id("Agent id (agt_...)"), contactId: id("Contact id (con_...)") },
    hints: {},
    call: (a) => ({
      method: "POST",
      path: `/v1/agents/${encodeURIComponent(a.id)}/score_lead`,
      body: { contactId: a.contactId },
    }),
  }),
];
