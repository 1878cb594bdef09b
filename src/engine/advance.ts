// advance(definition, state, input, now): runs steps back to back until a wait, an exit or
// the end, and returns the new state, the effects to perform, log lines and the next wake
// time. Pure: no bindings, no I/O, no clock — `now` is an argument.
import { evaluate } from "./conditions";
import { STEP_TYPES } from "./steps";
import { type StepContext, StepFailure, type StepResult } from "./steps/step";
import { TemplateLimitError } from "./templates";
import type {
  AdvanceOptions,
  AdvanceResult,
  Effect,
  EmitEffect,
  EngineInput,
  EnrollmentError,
  EnrollmentState,
  LifecycleEvent,
  LogLine,
  StepDef,
  WorkflowDefinition,
} from "./types";

/** Steps one run may execute before yielding to the next alarm. */
export const MAX_STEPS_PER_RUN = 100;
/** How long a run that hit MAX_STEPS_PER_RUN waits before the next (it never spins at once). */
export const RUN_CAP_BACKOFF_MS = 1_000;
/** Steps an enrollment may execute in its whole life: past this it fails (step_limit_exceeded). */
export const MAX_STEPS_PER_ENROLLMENT = 1_000;

function scopeOf(def: WorkflowDefinition, state: EnrollmentState) {
  return {
    contact: state.contact,
    vars: state.vars,
    event: state.event,
    workflow: { id: def.id, name: def.name },
    enrollment: { id: state.id },
  };
}

function summary(state: EnrollmentState) {
  return {
    enrollmentId: state.id,
    workflowId: state.workflowId,
    contactId: state.contactId,
    status: state.status,
  };
}

/** enrollment.created/completed/failed/cancelled: one per enrollment and event type (the key makes it so). */
export function lifecycleEffect(state: EnrollmentState, eventType: LifecycleEvent): EmitEffect {
  return {
    type: "emit",
    key: `${state.id}:${eventType}`,
    eventType,
    data: { ...summary(state), exitReason: state.exitReason, error: state.error },
  };
}

const ENDED = {
  completed: "enrollment.completed",
  failed: "enrollment.failed",
  cancelled: "enrollment.cancelled",
} as const;

/** An ending decided outside the steps: the state, its one log line and its lifecycle event. */
function endFromOutside(
  state: EnrollmentState,
  input: Extract<EngineInput, { type: "cancel" | "exit_on" | "fail" }>,
  now: number,
): AdvanceResult {
  const status =
    input.type === "cancel" ? "cancelled" : input.type === "exit_on" ? "completed" : "failed";
  const reason =
    input.type === "cancel"
      ? input.reason
      : input.type === "exit_on"
        ? (input.reason ?? `exit_on:${input.event}`)
        : null;
  const error: EnrollmentError | null =
    input.type === "fail"
      ? {
          code: input.code,
          message: input.stepId ? `Step ${input.stepId}: ${input.error}` : input.error,
        }
      : null;
  const next: EnrollmentState = {
    ...state,
    status,
    wait: null,
    exitReason: reason,
    error,
    completedAt: now,
  };
  const line: LogLine = {
    at: now,
    stepId: state.currentStepId,
    stepType: null,
    status: status === "failed" ? "failed" : "completed",
    message: error?.message ?? `Enrollment ${status}${reason ? `: ${reason}` : ""}`,
  };
  return {
    state: next,
    effects: [lifecycleEffect(next, ENDED[status])],
    logs: [line],
    wakeAt: null,
    changed: true,
  };
}

export function advance(
  def: WorkflowDefinition,
  input: EnrollmentState,
  event: EngineInput,
  now: number,
  opts: AdvanceOptions = {},
): AdvanceResult {
  const state: EnrollmentState = structuredClone(input);
  const effects: Effect[] = [];
  const logs: LogLine[] = [];
  const stepsById = new Map(def.steps.map((s) => [s.id, s]));
  const log = (
    step: StepDef | null,
    status: LogLine["status"],
    message: string,
    outcome?: string,
  ) =>
    logs.push({
      at: now,
      stepId: step?.id ?? null,
      stepType: step?.type ?? null,
      status,
      message,
      ...(outcome ? { outcome } : {}),
    });

  if (state.status === "completed" || state.status === "cancelled" || state.status === "failed") {
    return { state, effects, logs, wakeAt: null, changed: false };
  }
  if (event.type === "cancel" || event.type === "exit_on" || event.type === "fail") {
    return endFromOutside(state, event, now);
  }

  const finish = (
    status: "completed" | "failed",
    reason: string | null,
    error: EnrollmentError | null = null,
  ) => {
    state.status = status;
    state.wait = null;
    state.exitReason = reason;
    state.error = error;
    state.completedAt = now;
    effects.push(lifecycleEffect(state, ENDED[status]));
  };

  const ctxFor = (step: StepDef): StepContext => ({
    step,
    state,
    def,
    now,
    key: `${state.id}:${step.id}:${state.visits[step.id] ?? 0}`,
    opts,
    scope: scopeOf(def, state),
  });

  /** Applies a step's result; returns the next step to run, or null to stop. */
  const apply = (step: StepDef, result: StepResult): StepDef | null => {
    if (result.kind === "wait") {
      state.status = "waiting";
      state.wait = result.wait;
      effects.push(...(result.effects ?? []));
      log(step, "waiting", result.message);
      return null;
    }
    state.wait = null;
    state.status = "running";
    if (result.kind === "exit") {
      log(step, "completed", result.message);
      finish("completed", result.reason);
      return null;
    }
    if (result.contactData) {
      state.contact = { ...state.contact, data: { ...state.contact.data, ...result.contactData } };
    }
    if (result.contactFields) {
      state.contact = { ...state.contact, ...result.contactFields, data: state.contact.data };
    }
    if (result.vars) {
      state.vars = { ...state.vars, ...result.vars };
    }
    effects.push(...(result.effects ?? []));
    if (def.chain?.successOutcomes.includes(result.outcome)) {
      state.chainSucceeded = true;
    }
    log(
      step,
      result.outcome === "suppressed" ? "skipped" : "completed",
      result.message,
      result.outcome,
    );
    effects.push({
      type: "emit",
      key: `${ctxFor(step).key}:completed`,
      eventType: "enrollment.step_completed",
      data: { ...summary(state), stepId: step.id, stepType: step.type, outcome: result.outcome },
    });
    const next = chooseTransition(def, step, result.outcome, scopeOf(def, state));
    if (!next) {
      finish("completed", "completed");
      return null;
    }
    state.currentStepId = next;
    return stepsById.get(next) ?? null;
  };

  let step: StepDef | null = null;
  let changed = true;
  try {
    const neverStarted =
      state.status === "running" &&
      state.currentStepId === null &&
      Object.keys(state.visits).length === 0;
    if (
      event.type === "start" ||
      (event.type === "wake" && (state.wait?.kind === "schedule" || neverStarted))
    ) {
      if (state.wait?.until != null && now < state.wait.until) {
        return { state, effects, logs, wakeAt: state.wait.until, changed: false };
      }
      state.wait = null;
      state.status = "running";
      step = def.steps[0] ?? null;
      state.currentStepId = step?.id ?? null;
      if (!step) {
        finish("completed", "completed");
      }
    } else if (state.wait) {
      const parked = stepsById.get(state.wait.stepId ?? "");
      if (!parked) {
        throw new StepFailure(`Step "${state.wait.stepId}" is not in version ${def.version}`);
      }
      const type = STEP_TYPES[parked.type];
      const result =
        type.resume?.(type.config.parse(parked.config), ctxFor(parked), state.wait, event) ?? null;
      if (!result) {
        return { state, effects, logs, wakeAt: state.wait.until, changed: false };
      }
      step = apply(parked, result);
    } else if (event.type === "wake" && state.status === "running") {
      step = state.currentStepId ? (stepsById.get(state.currentStepId) ?? null) : null;
    } else {
      changed = false;
    }

    let ran = 0;
    while (step && state.status === "running") {
      if (ran++ >= MAX_STEPS_PER_RUN) {
        // Yield to a later alarm rather than hold the object (never at once: that would spin).
        return { state, effects, logs, wakeAt: now + RUN_CAP_BACKOFF_MS, changed };
      }
      state.stepsRun = (state.stepsRun ?? 0) + 1;
      if (state.stepsRun > MAX_STEPS_PER_ENROLLMENT) {
        throw new StepLimitExceeded(
          `The enrollment ran more than ${MAX_STEPS_PER_ENROLLMENT.toLocaleString("en-US")} steps`,
        );
      }
      state.currentStepId = step.id;
      state.visits[step.id] = (state.visits[step.id] ?? 0) + 1;
      const type = STEP_TYPES[step.type];
      if (!type) {
        throw new StepFailure(`Unknown step type "${step.type}"`);
      }
      log(step, "started", `Step ${step.name ?? step.id} (${step.type}) started`);
      step = apply(step, type.execute(type.config.parse(step.config), ctxFor(step)));
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const at = state.currentStepId ? (stepsById.get(state.currentStepId) ?? null) : null;
    log(at, "failed", message);
    const code =
      err instanceof StepLimitExceeded
        ? "step_limit_exceeded"
        : err instanceof TemplateLimitError
          ? "template_limit_exceeded"
          : "step_failed";
    finish("failed", null, { code, message });
  }
  const wakeAt = state.status === "waiting" ? (state.wait?.until ?? null) : null;
  return { state, effects, logs, wakeAt, changed };
}

class StepLimitExceeded extends Error {}

/** Outgoing transitions by priority (low first, then array order): first whose `on` and `condition` hold. */
export function chooseTransition(
  def: WorkflowDefinition,
  step: StepDef,
  outcome: string,
  scope: Parameters<typeof evaluate>[1],
): string | null {
  const candidates = def.transitions
    .map((t, i) => ({ t, i }))
    .filter(({ t }) => t.from === step.id)
    .sort((a, b) => (a.t.priority ?? 0) - (b.t.priority ?? 0) || a.i - b.i);
  for (const { t } of candidates) {
    if (t.on !== undefined && t.on !== outcome) {
      continue;
    }
    if (t.condition && !evaluate(t.condition, scope)) {
      continue;
    }
    return t.to;
  }
  return null;
}

/** The state a new enrollment starts from (before its first `advance`). */
export function initialState(
  p: Omit<
    EnrollmentState,
    "status" | "currentStepId" | "wait" | "visits" | "exitReason" | "error" | "completedAt"
  >,
  startAt: number | null,
): EnrollmentState {
  return {
    ...p,
    status: startAt ? "waiting" : "running",
    currentStepId: null,
    wait: startAt ? { kind: "schedule", stepId: null, until: startAt } : null,
    visits: {},
    exitReason: null,
    error: null,
    completedAt: null,
  };
}
