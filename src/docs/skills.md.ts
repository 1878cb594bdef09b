// GET /docs/skills-v1.md (and /docs/skills.md, the latest): one Markdown brief for LLM agents and integrators.
export const SKILLS_MD = `# Nudge — agent and integrator brief (v1)

Nudge is an HTTP API for drip and outreach automation: define a **workflow** (trigger → steps),
**enroll** contacts, and watch each **enrollment** advance on its own schedule. Machine-readable
contract: \`GET /openapi-v1.json\` (every operation has an \`operationId\`). Interactive reference: \`GET /docs\`
(\`Accept: text/markdown\` gives it as Markdown). Index for agents: \`GET /llms.txt\`. MCP server: \`POST /mcp\`.

## What to use when
| you want to | use |
| --- | --- |
| enroll one contact (signup, form) | \`POST /v1/enrollments\` with an \`Idempotency-Key\` (\`createEnrollment\`) |
| enroll up to 100 known contacts | \`POST /v1/enrollments/bulk\` (\`bulkEnroll\`), per-contact \`results\` |
| load a list (≤ 10,000 rows, JSON or CSV) | \`POST /v1/imports\` (\`createImport\`), then poll \`GET /v1/imports/{id}\` |
| start flows from what users do | an \`event\` trigger + \`POST /v1/events\` (\`trackEvent\`) or \`/v1/events/batch\` |
| check a workflow before it sends | \`POST /v1/workflows/{id}/test\` (dry run, no side effects), then activate |
| stop a sequence on a reply or a conversion | \`exitOn: ["replied"]\` on the workflow + track that event |
| react to what happens | \`POST /v1/webhooks\` (pushed, signed) rather than polling lists |
| poll instead | \`GET /v1/enrollments/{id}\`, \`GET /v1/workflows/{id}/stats\`, \`GET /v1/messages\` |
| see how it performs over time | \`GET /v1/analytics/metrics\` (counts and rates per day/week/month), \`/funnel\`, \`/charts?format=svg\` |
| hand data to finance or RevOps | \`POST /v1/reports\` (CSV/JSON export), \`POST /v1/reports/{id}/schedule\` for a weekly one |
| start a flow for a lead from your server, exactly once | a workflow agent: \`POST /v1/agents/{id}/execute {input: {contact, variables}, idempotency_key}\` (\`executeAgent\`) |
| a small structured answer from a model (classify, extract, qualify) | a template agent: \`POST /v1/agents/{id}/inference\` (sync, ≤ 30 s, schema-checked) |
| the same at volume, under a budget | \`POST /v1/agents/{id}/execute\` on a template agent; limits via \`PATCH /v1/agent-templates/{id}/execution-policy\` |
| run your own code as a step or on demand | a code agent (\`type: "code"\`, \`endpoint\`), or the \`agent\` step in a workflow |
| rank leads | \`POST /v1/agents/{id}/score_lead {contactId}\` or the \`score_lead\` step; branch on \`contact.score\` |
| watch agents | \`GET /v1/monitoring/agents\` (24 h fleet), \`/v1/agents/{id}/status\`, \`/executions\`, \`/logs\`, \`/metrics\`, \`/costs\` |


## Auth
- Every \`/v1\` call: \`Authorization: Bearer nk_live_...\`. 401 \`unauthorized\` when missing, invalid, revoked or expired.
- A key sees only its own org. Another org's id is **404**, never 403.
- Rate limit per key: 429 \`rate_limited\` with \`Retry-After\` (seconds). Back off and retry.

## Conventions
- JSON in and out, camelCase, times are ISO-8601 UTC. Ids are prefixed (\`con_\`, \`wf_\`, \`enr_\`, ...).
- Lists: \`?limit=1..100\` (default 50), \`?cursor=\` → \`{data, nextCursor}\`, newest first. Loop until \`nextCursor\` is null.
- **Idempotency**: send \`Idempotency-Key: <unique>\` on every POST you may retry. Same key + same body → the
  stored response with \`idempotent-replayed: true\`; same key + other body → 422 \`idempotency_key_reused\`;
  still running → 409 \`idempotency_key_in_use\` (retry shortly). Keys live 24 h per org.

## Errors
Every error: \`{"error": "<code>", "message": "...", "details"?: [{path, message}], "requestId": "..."}\`.
| status | codes | what to do |
| --- | --- | --- |
| 400 | invalid_json | fix the JSON |
| 401 | unauthorized | fix the key |
| 403 | forbidden, quota_exceeded | a wider key / a higher quota is needed; do not retry |
| 404 | not_found | the id is wrong or belongs to another org |
| 409 | already_enrolled, reentry_not_allowed, idempotency_key_in_use, task_closed, agent_name_taken, agent_paused, template_in_use, conflict | not an error to retry blindly; read \`message\` |
| 413 / 415 | payload_too_large / unsupported_media_type | send ≤ 1 MiB of \`application/json\` |
| 422 | validation_failed (see \`details\`), invalid_graph, workflow_not_active, workflow_archived, contacts_required, contacts_empty, too_many_contacts, no_enrollments_created, missing_variables, invalid_outcome, idempotency_key_reused, no_llm_connection, output_invalid | fix the request |
| 429 | rate_limited, agent_busy, budget_exhausted | wait \`Retry-After\` seconds; budget_exhausted lasts until the next day |
| 502 | llm_error | the model provider failed after the policy's retries; retry later |
| 5xx | internal_error, service_unavailable | retry with the same Idempotency-Key |

### Error playbook for agents
- \`validation_failed\`: read \`details[].path\` and \`details[].message\`, fix exactly those fields, resend. Unknown
  fields are refused by name: drop them.
- \`not_found\`: re-list the resource (\`listWorkflows\`, \`listContacts\`) to get a current id; never guess ids.
- \`already_enrolled\`: the contact is in the workflow already — read it with \`listEnrollments?contactId=\`; do not retry.
- \`reentry_not_allowed\`: the contact finished this workflow; send \`allowReentry: true\` only if the user wants a rerun.
- \`workflow_not_active\`: activate it (\`PATCH /v1/workflows/{id}\` \`{status: "active"}\`) after a dry run.
- \`invalid_graph\`: the message names the step or loop; fix the steps/transitions and resend the whole graph.
- \`missing_variables\`: the workflow's \`requiredVariables\` (or your \`groupBy\`) are missing; \`details\` names each
  (\`variables.<name>\`) — ask the user for them; do not invent values.
- \`invalid_outcome\`: complete the task with one of its \`outcomes\` (\`GET /v1/tasks/{id}\`). \`task_closed\`: it was
  completed, skipped or expired already; read it, do not retry.
- \`forbidden\`: the key's scope is too narrow (a \`send\` key); ask for a \`full\` key. \`quota_exceeded\`: stop and tell the user.
- \`idempotency_key_in_use\`: wait a second and resend the same request. \`idempotency_key_reused\`: use a new key.
- \`rate_limited\`: sleep \`Retry-After\` seconds. \`internal_error\` / \`service_unavailable\`: retry with backoff and
  the same \`Idempotency-Key\`; quote \`requestId\` when reporting.

## MCP
\`POST /mcp\` speaks the Model Context Protocol (Streamable HTTP, stateless) with the same API key as the API (\`Authorization: Bearer\` or \`x-api-key\`). Tools:
\`list_workflows\`, \`get_workflow\`, \`create_workflow\`, \`test_workflow\`, \`activate_workflow\`, \`enroll_contact\`,
\`bulk_enroll\`, \`track_event\`, \`get_enrollment\`, \`cancel_enrollment\`, \`workflow_stats\`, \`list_messages\`,
\`upsert_contact\`, \`list_tasks\`, \`complete_task\`, \`execute_agent\`, \`score_lead\`, \`search_api\` and \`call_api\` (any operation by \`operationId\`). Resources: this brief and the
OpenAPI document. A tool error carries the API's error code and message.

## Golden path: welcome sequence
1. \`POST /v1/templates\` \`{name, subject: "Welcome {{ contact.firstName | default: \\"there\\" }}", html}\` → \`tpl_...\`
2. \`POST /v1/workflows\` \`{name, trigger: {type: "event", event: "signed_up"}, steps: [
   {type: "send_email", config: {templateId}}, {type: "delay", config: {amount: 2, unit: "days"}},
   {type: "send_email", config: {templateId: other}}]}\` (steps link in order when \`transitions\` is omitted)
3. \`POST /v1/workflows/{id}/test\` \`{sampleData: {firstName: "Ada"}}\` — a dry run: the trace shows every step
   with \`simulatedAt\`; email and webhook steps say \`[test] Would send ...\`. No side effects.
4. \`PATCH /v1/workflows/{id}\` \`{status: "active"}\`.
5. Enroll: either \`POST /v1/events\` \`{name: "signed_up", email, id?}\` (202 \`{id}\` once stored; starts every
   active workflow triggered by it within seconds — \`?wait=true\` answers after, with \`enrolled/resumed/exited\`;
   \`POST /v1/events/batch\` takes ≤ 1,000; a repeated client \`id\` is never processed twice),
   or \`POST /v1/enrollments\` \`{workflowId, contact: {email, firstName}, variables}\` with an Idempotency-Key,
   or \`POST /v1/enrollments/bulk\` (≤ 100, per-contact \`results\`), or \`POST /v1/imports\` (≤ 10,000, JSON or CSV).
6. Watch: \`GET /v1/enrollments/{id}\` (status, \`timeline\`, \`messages\`), \`GET /v1/workflows/{id}/enrollments\`
   (\`stepFunnel\`), \`GET /v1/workflows/{id}/stats\`, \`GET /v1/messages\`. With no email provider connected, email
   lands in \`GET /v1/outbox\`.

## Enrollment behaviour
- One active enrollment per (workflow, contact): a second → 409 \`already_enrolled\`. After it finishes, a new one
  needs \`allowReentry: true\` (else 409 \`reentry_not_allowed\`).
- Time zone: given, else the contact's, else inferred from the phone number, else the workflow's, else UTC.
  \`sendWindow\` and \`untilLocalTime\` delays use it (DST-correct). \`bypassSendWindow: true\` skips the window.
- \`scheduledAt\` in the future starts then; in the past, now.
- \`wait_for_event\` is resumed by an event of that name **received after the wait began**, or times out.
- \`exitOn: ["replied"]\` ends a running enrollment when that event arrives (\`exitReason: "exit_on:replied"\`).
- Replies are detected for you: \`email.replied\` (a human answer, its text without the quote) and
  \`email.auto_replied\` (out of office, with \`returnAt\`). \`stopOnReply\` (default on with 2+ emails) ends the
  enrollment \`completed\` with \`exitReason: "replied"\`; \`onAutoReply: "pause_until_return"\` holds it until the
  return date. Give a connection a \`replyDomain\` routed to the Worker (Email Routing) for signed reply addresses.
- Follow-ups: \`send_email\` with \`thread: "previous"\` replies in the same thread (\`Re: ...\`, In-Reply-To);
  \`plainText: true\` sends text only.
- Editing a live workflow creates a new version; running enrollments keep the version they started on.
- Pausing a workflow holds enrollments at their next step; activating resumes them.

## Outreach: SMS, calls, tasks, chains
- Steps \`send_sms\` (\`body\`), \`call\` (\`script\`, or \`agent.assistantId\` for a voice agent; outcomes
  answered, voicemail, no_answer, busy, failed, timeout), \`task\` (\`taskType\`, \`title\`, \`dueIn\`, \`outcomes\`;
  plus skipped and timeout). Branch on outcomes with transitions \`{from, to, on: "no_answer"}\`.
- Contacts may be known by \`phone\` alone (E.164, unique per org); \`name\` is split into first/last. A contact
  without a phone gets \`suppressed\` on SMS and calls; one that texted STOP has \`smsSubscribed: false\`.
- SMS and calls go out only inside the workflow's \`callWindow\` (default 08:00–21:00 in the contact's zone);
  \`bypassCallWindow: true\` on the enrollment skips it (\`bypassSendWindow\` is for email only).
- No Twilio/voice-agent connection: texts and calls land in \`GET /v1/outbox?channel=sms|call\`; record a call's
  outcome with \`POST /v1/outbox/{id}/outcome {outcome}\` (the sandbox). Tasks: \`GET /v1/tasks?status=open\`,
  \`POST /v1/tasks/{id}/complete {outcome, note?}\`, \`POST /v1/tasks/{id}/skip\`.
- Chains: enroll with \`groupBy: "account_id"\` (and that variable) — one link of a chain runs at a time; the next
  starts when one ends without a \`chain.successOutcomes\` outcome (default answered); after a success the rest
  end \`cancelled\` (\`chain_satisfied\`). \`GET /v1/enrollments?chainKey=<value>\` lists a chain.

## Sending governance
- Steps \`send_email\`/\`send_sms\` take \`category: "marketing" | "transactional"\` (workflow default \`category\`,
  else marketing). Transactional ignores caps, quiet hours and unsubscribes; use it only for receipts, resets, alerts.
- \`GET/PUT /v1/settings/sending {caps: {"email.marketing": {perDay, perWeek}, "sms.marketing": {...}}, quietHours}\`.
  Over a cap a step waits for room (the timeline says "Deferred by the org's frequency cap"), or takes outcome
  \`capped\` with the workflow's \`onCap: "skip"\`.
- Connections take \`limits: {perDay, minGapSeconds, jitterSeconds, warmup: {startPerDay, increasePerDay}}\`: sends wait
  for their slot. Workflows take \`connectionPool: [ids]\`. A bounce/complaint storm pauses a connection
  (\`connection.paused\`); \`POST /v1/connections/{id}/resume\` after fixing the list.
- Topics: \`POST /v1/topics {key, name, defaultSubscribed}\`; a send step's \`topic\` reaches only subscribers; a contact's
  \`topics: {key: bool}\` is settable on POST/PATCH /v1/contacts. Put \`{{ preferences_url }}\` in marketing footers.
- Double opt-in: \`POST /v1/contacts {email, doubleOptIn: true}\` → \`consent: "pending"\` until the contact confirms
  (\`contact.confirmed\` event: trigger a welcome workflow on it). The contact confirms by pressing the page's
  button; confirmation links work 7 days, preference and unsubscribe links 90 (then 410 \`link_expired\`).

## Analytics and reports
- \`GET /v1/analytics/metrics?from=&to=&interval=day|week|month&groupBy=workflow|step|channel|connection|category|variant&workflowId=&metrics=sent,uniqueOpened,openRate\`
  → \`{series: [{key, label, points: [{t, values}], totals}], totals}\`. Days are in the org's reporting zone
  (\`PATCH /v1/account {reportingTimezone}\`) or \`timezone=UTC\`. Counts are kept as they happen (never recounted
  from messages); rates: \`openRate\` = uniqueOpened ÷ (sent − bounced), \`clickRate\`, \`replyRate\` = replied ÷ sent,
  \`bounceRate\` = bounced ÷ sent, \`conversionRate\` = converted ÷ enrolled (per variant ÷ assigned); null when
  the denominator is 0.
- Goals: a workflow's \`goal: {event: "purchased", withinDays: 14}\` counts \`converted\` per enrollment and A/B variant.
- \`GET /v1/analytics/charts?...&format=svg\` — an accessible SVG chart to embed; \`GET /v1/analytics/funnel?workflowId=\`
  — per step: entered, drop-off, conversion, median time from the previous step.
- \`POST /v1/reports {type: workflow_performance|deliverability|enrollments_export|messages_export|contacts_export,
  format: csv|json, params: {from, to | lastDays, workflowId, status}}\` → 202 \`queued\`; poll \`GET /v1/reports/{id}\`
  until \`completed\` (it carries a signed \`download.url\`), or \`GET /v1/reports/{id}/download\` with the key.
  \`POST /v1/reports/{id}/schedule {cron: "0 8 * * MON", timezone, emails}\` re-runs it; \`report.ready\` webhooks.

## Agents
- An **agent** is an org-scoped automation unit: \`POST /v1/agents\` (or \`/v1/agents/spawn\`, body at the top level or in
  \`agent: {…}\`) \`{name, type: "workflow" | "template" | "code", workflowId | templateId | endpoint, configuration}\`.
  Names are unique per org (409 \`agent_name_taken\`). \`configuration\` is a flat map (strings, numbers, booleans, ≤ 16 KiB).
- \`POST /v1/agents/{id}/execute {input, idempotency_key}\` → 202 \`queued\`; the same key returns the same execution
  (20 racing requests make one), another input under it is 422 \`idempotency_key_reused\`. Poll
  \`GET /v1/agents/{id}/executions/{executionId}\` until \`succeeded | failed | cancelled\` (or subscribe to
  \`agent.execution.succeeded|failed\`). A **workflow** agent upserts \`input.contact\` (or \`input.contactId\`) and
  enrolls it with \`input.variables\` (\`output.enrollmentId\`). A **template** agent renders its template's Liquid prompt over
  \`input\` and \`configuration\`, asks the model (an \`openai\`-compatible or \`anthropic\` connection) for JSON matching
  \`outputSchema\`, retries once with the validation errors, else \`output_invalid\`. A **code** agent POSTs
  \`{input, configuration, executionId}\` to your endpoint, signed like webhooks with the agent's \`secret\` (shown once).
- No LLM connection → \`no_llm_connection\`: \`POST /v1/connections {provider: "openai", credentials: {apiKey, baseUrl?}}\`.
- Execution policy (\`PATCH /v1/agent-templates/{id}/execution-policy\`, or \`executionPolicy\` on a workflow/code agent):
  \`maxConcurrent\`, \`maxPerDay\` (extra executions wait in \`queued\`), \`budgetUsdPerDay\` (then \`budget_exhausted\` until the
  next day, org time zone), \`retries\`, \`timeoutSeconds\`. Cost = tokens × the model's price.
- \`POST /v1/agents/{id}/score_lead {contactId}\` → \`{score, reasons}\` from \`score.*\` keys of the configuration
  (\`score.field.data.title: 10\`, \`score.event.demo_requested: 30\`, \`score.engagement.replied: 25\`,
  \`score.task.connected: 20\`, each with \`.max\`; \`score.llm.templateId\` blends a model's judgement).
- Logs may lag a few seconds (written when a run ends). Model exchanges (redacted) stay 7 days:
  \`GET /v1/monitoring/reasoning/{agentId}\`.

## Step types (\`GET /v1/workflows/step-types\` has each config's JSON Schema)
send_email, send_sms, call, task, delay, wait_for_event, condition (outcomes true/false), split (A/B by weight,
deterministic), webhook, update_contact, agent (outcomes succeeded/failed/timeout; output merged into \`vars\`),
score_lead (sets \`contact.score\`), exit, log. Transitions: \`{from, to, on?, condition?, priority?}\`; tried by priority,
first match wins; none → the enrollment completes.

## Webhooks to you
\`POST /v1/webhooks\` \`{url, events: ["*"]}\` → \`secret\` (\`whsec_...\`, shown once). Deliveries are signed per
Standard Webhooks (\`webhook-id\`, \`webhook-timestamp\`, \`webhook-signature\`); verify with the \`standardwebhooks\`
library, dedupe on \`webhook-id\`, answer 2xx fast. Event types and schemas: \`GET /v1/webhooks/catalog\`.
`;
