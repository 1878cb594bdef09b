// What every step type module provides: its config schema, outcomes, and execution. Pure.
import type { z } from "zod";
import type {
  AdvanceOptions,
  Effect,
  EngineInput,
  EnrollmentState,
  StepDef,
  Wait,
  WorkflowDefinition,
} from "../types";

export interface StepContext {
  step: StepDef;
  state: EnrollmentState;
  def: WorkflowDefinition;
  now: number;
  /** Effect key for this visit: `enrollmentId:stepId:visit`. */
  key: string;
  opts: AdvanceOptions;
  /** The Liquid/condition scope. */
  scope: {
    contact: Record<string, unknown>;
    vars: Record<string, unknown>;
    event: Record<string, unknown>;
    workflow: { id: string; name: string };
    enrollment: { id: string };
  };
}

export type StepResult =
  | {
      kind: "outcome";
      outcome: string;
      message: string;
      effects?: Effect[];
      contactData?: Record<string, unknown>;
      /** Top-level contact fields the step learned (an agent's lead `score`). */
      contactFields?: Record<string, unknown>;
      /** Variables to merge into the enrollment's (an agent's output). */
      vars?: Record<string, unknown>;
    }
  /** `effects`: what starts the wait (a call placed, a task created). */
  | { kind: "wait"; wait: Wait; message: string; effects?: Effect[] }
  | { kind: "exit"; reason: string; message: string };

export class StepFailure extends Error {}

export interface StepType<C = any> {
  type: string;
  description: string;
  config: z.ZodType<C>;
  outcomes(config: C): string[];
  /**
   * Whether the step, so configured, is guaranteed to pause the enrollment for a while: only
   * then may a cycle pass through it (a date in the past or a tiny delay elapses at once).
   */
  pauses(config: C): boolean;
  execute(config: C, ctx: StepContext): StepResult;
  /**
   * Rules checked when a workflow is saved, beyond the config's shape — never at run time, so
   * a version saved before a rule existed still runs. Returns problems (path within config).
   */
  lint?(config: C): { path: string; message: string }[];
  /** Called when woken or sent an event while parked on this step; null keeps waiting. */
  resume?(config: C, ctx: StepContext, wait: Wait, input: EngineInput): StepResult | null;
}

export const defineStep = <C>(s: StepType<C>) => s;

/** A wait for a window that opens at `open` (the send window, the call window), or null when open. */
export function windowWait(ctx: StepContext, open: number, window: string): StepResult | null {
  return open > ctx.now
    ? {
        kind: "wait",
        wait: { kind: "window", stepId: ctx.step.id, until: open },
        message: `Outside the ${window}; waiting until ${new Date(open).toISOString()}`,
      }
    : null;
}
