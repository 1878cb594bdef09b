// task: create a task for a person (a call to make, a LinkedIn touch, ...) and wait until it is
// completed with one of its declared outcomes, skipped, or expires (`timeout`).
import { TaskConfig, taskOutcomes } from "../outreach";
import { renderString } from "../templates";
import { defineStep } from "./step";

export default defineStep<TaskConfig>({
  type: "task",
  description:
    "Create a task for a rep (`taskType`: call, linkedin, email, custom; `title` and `instructions` are Liquid; `assignee`; `dueIn` seconds) and wait for it: completing it (POST /v1/tasks/{id}/complete) with one of the declared `outcomes` (default `completed`) takes the transition `on` that outcome; skipping it gives `skipped`; past its due time it expires with `timeout`.",
  config: TaskConfig,
  outcomes: (config) => taskOutcomes(config ?? {}),
  pauses: () => true,
  execute(config, ctx) {
    const dueAt = ctx.now + config.dueIn * 1000;
    const title = renderString(config.title, ctx.scope);
    const effect = {
      type: "create_task" as const,
      key: ctx.key,
      stepId: ctx.step.id,
      task: {
        taskType: config.taskType,
        title,
        instructions: config.instructions ? renderString(config.instructions, ctx.scope) : null,
        assignee: config.assignee ?? null,
        dueAt,
        outcomes: taskOutcomes(config),
      },
    };
    if (ctx.opts.skipDelays) {
      return {
        kind: "outcome",
        outcome: "timeout",
        message: "[test] No tasks are completed in a dry run: timed out",
        effects: [effect],
      };
    }
    return {
      kind: "wait",
      wait: { kind: "outcome", stepId: ctx.step.id, until: dueAt, key: ctx.key },
      message: `Task "${title}" created; due ${new Date(dueAt).toISOString()}`,
      effects: [effect],
    };
  },
  resume(config, ctx, wait, input) {
    if (input.type === "outcome" && input.key === wait.key) {
      if (!taskOutcomes(config).includes(input.outcome)) {
        return null;
      }
      return {
        kind: "outcome",
        outcome: input.outcome,
        message: input.outcome === "skipped" ? "Task skipped" : `Task completed: ${input.outcome}`,
      };
    }
    if (input.type === "wake" && wait.until != null && ctx.now >= wait.until) {
      return {
        kind: "outcome",
        outcome: "timeout",
        message: "The task expired before it was done",
      };
    }
    return null;
  },
});
