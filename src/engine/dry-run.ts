// POST /v1/workflows/:id/test: the same advance() in simulated time, effects stubbed as "[test]" lines. Pure.
import { advance, initialState } from "./advance";
import type { Effect, EnrollmentState, WorkflowDefinition } from "./types";

export const FIXTURE_PROFILES = {
  minimal: {
    firstName: "Ada",
    lastName: "Lovelace",
    email: "ada@example.com",
    phone: "+14155552671",
    score: 42,
  },
  demo: {
    firstName: "Ada",
    lastName: "Lovelace",
    email: "ada@example.com",
    phone: "+14155552671",
    score: 42,
    company: "Analytical Engines Ltd",
    industry: "Software",
    segment: "mid-market",
    title: "Head of Engineering",
    plan: "trial",
    city: "London",
    country: "GB",
  },
} as const;
export type FixtureProfile = keyof typeof FIXTURE_PROFILES;

export interface TraceEntry {
  stepId: string | null;
  type: string | null;
  outcome: string | null;
  message: string;
  simulatedAt: string;
}

export interface DryRunInput {
  profile: FixtureProfile;
  sampleData: Record<string, unknown>;
  variables: Record<string, unknown>;
  startAt: number;
  timezone: string;
  /** Subjects of the templates the workflow uses, for the "[test] Would send" lines. */
  templateSubjects: Record<string, string>;
}

const MAX_WAKES = 1000;

function describeEffect(
  e: Effect,
  state: EnrollmentState,
  subjects: Record<string, string>,
): string | null {
  if (e.type === "send_email") {
    const c = e.config as {
      templateId?: string;
      subject?: string;
      thread?: "previous";
      plainText?: boolean;
    };
    const subject = c.templateId ? (subjects[c.templateId] ?? c.templateId) : c.subject;
    const to = state.contact.email ?? "(no email)";
    const kind = c.plainText ? " (text only)" : "";
    return c.thread === "previous"
      ? `[test] Would thread ${subject ? `"${subject}"` : "a reply"}${kind} under the previous email to ${to}`
      : `[test] Would send "${subject}"${kind} to ${to}`;
  }
  if (e.type === "webhook") {
    return `[test] Would call ${e.request.method} ${e.request.url}`;
  }
  const phone = (state.contact.phone as string | null | undefined) ?? "(no phone)";
  if (e.type === "send_sms") {
    return `[test] Would text "${e.body}" to ${phone}`;
  }
  if (e.type === "place_call") {
    const who = e.config.agent ? ` with voice agent ${e.config.agent.assistantId}` : "";
    return `[test] Would call ${phone}${who}`;
  }
  if (e.type === "create_task") {
    const to = e.task.assignee ? ` for ${e.task.assignee}` : "";
    return `[test] Would create a ${e.task.taskType} task "${e.task.title}"${to}`;
  }
  return null;
}

export function dryRun(def: WorkflowDefinition, input: DryRunInput) {
  const bag = { ...FIXTURE_PROFILES[input.profile], ...input.sampleData };
  let state = initialState(
    {
      id: "enr_test",
      orgId: "org_test",
      workflowId: def.id,
      contactId: "con_test",
      contact: { ...bag, subscribed: true, suppressed: null, data: { ...bag } },
      vars: input.variables,
      event: {},
      timezone: input.timezone,
      bypassSendWindow: false,
    },
    null,
  );
  const trace: TraceEntry[] = [];
  let now = input.startAt;
  let result = advance(def, state, { type: "start" }, now, { skipDelays: true });
  for (let wakes = 0; ; wakes++) {
    const stubs = new Map<string, string>();
    for (const e of result.effects) {
      const line = describeEffect(e, result.state, input.templateSubjects);
      if (line && "stepId" in e) {
        stubs.set(e.stepId, line);
      }
    }
    for (const l of result.logs) {
      if (l.status === "started") {
        continue;
      }
      trace.push({
        stepId: l.stepId,
        type: l.stepType,
        outcome:
          l.outcome ??
          (l.status === "waiting" ? "waiting" : l.status === "failed" ? "failed" : null),
        message: (l.stepId && l.status === "completed" && stubs.get(l.stepId)) || l.message,
        simulatedAt: new Date(l.at).toISOString(),
      });
    }
    state = result.state;
    if (state.status !== "waiting" || result.wakeAt == null || wakes >= MAX_WAKES) {
      break;
    }
    now = Math.max(now, result.wakeAt);
    result = advance(def, state, { type: "wake" }, now, { skipDelays: true });
  }
  return {
    sampleData: state.contact.data,
    trace,
    finalStatus: state.status,
    exitReason: state.exitReason,
    error: state.error,
  };
}
