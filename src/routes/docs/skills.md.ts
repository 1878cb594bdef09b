// GET /docs/skills.md: one Markdown brief for LLM agents and integrators.
export const SKILLS_MD = `# Nudge — agent and integrator brief (v1)

Nudge is an HTTP API for drip and outreach automation: define a **workflow** (trigger → steps),
**enroll** contacts, and watch each **enrollment** advance on its own schedule. Machine-readable
contract: \`GET /openapi.json\`. Interactive reference: \`GET /docs\`.

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
| 404 | not_found | the id is wrong or belongs to another org |
| 409 | already_enrolled, reentry_not_allowed, idempotency_key_in_use, conflict | not an error to retry blindly; read \`message\` |
| 413 / 415 | payload_too_large / unsupported_media_type | send ≤ 1 MiB of \`application/json\` |
| 422 | validation_failed (see \`details\`), invalid_graph, workflow_not_active, workflow_archived, contacts_required, contacts_empty, too_many_contacts, no_enrollments_created, idempotency_key_reused | fix the request |
| 429 | rate_limited | wait \`Retry-After\` seconds |
| 5xx | internal_error, service_unavailable | retry with the same Idempotency-Key |

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
- Editing a live workflow creates a new version; running enrollments keep the version they started on.
- Pausing a workflow holds enrollments at their next step; activating resumes them.

## Step types (\`GET /v1/workflows/step-types\` has each config's JSON Schema)
send_email, delay, wait_for_event, condition (outcomes true/false), split (A/B by weight, deterministic),
webhook, update_contact, exit, log. Transitions: \`{from, to, on?, condition?, priority?}\`; tried by priority,
first match wins; none → the enrollment completes.

## Webhooks to you
\`POST /v1/webhooks\` \`{url, events: ["*"]}\` → \`secret\` (\`whsec_...\`, shown once). Deliveries are signed per
Standard Webhooks (\`webhook-id\`, \`webhook-timestamp\`, \`webhook-signature\`); verify with the \`standardwebhooks\`
library, dedupe on \`webhook-id\`, answer 2xx fast. Event types and schemas: \`GET /v1/webhooks/catalog\`.
`;
