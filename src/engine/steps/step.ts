// What every step type module provides: its config schema, outcomes, and execution. Pure.
import type { z } from "@hono/zod-openapi";
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
    }
  | { kind: "wait"; wait: Wait; message: string }
  | { kind: "exit"; reason: string; message: string };

export class StepFailure extends Error {}

export interface StepType<C = any> {
  type: string;
  description: string;
  config: z.ZodType<C>;
  outcomes(config: C): string[];
  /** Whether the step can pause the enrollment in time (a cycle through it is allowed). */
  pauses: boolean;
  execute(config: C, ctx: StepContext): StepResult;
  /** Called when woken or sent an event while parked on this step; null keeps waiting. */
  resume?(config: C, ctx: StepContext, wait: Wait, input: EngineInput): StepResult | null;
}

export const defineStep = <C>(s: StepType<C>) => s;
