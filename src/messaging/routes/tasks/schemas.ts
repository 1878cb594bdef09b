// Task shapes.
import { z } from "@hono/zod-openapi";
import { iso } from "../../../db/client";
import { TASK_TYPES } from "../../../engine/outreach";
import { Timestamp } from "../../../http/openapi";
import { PageQuery } from "../../../http/pagination";
import type { TaskRow } from "../../tasks-store";

export const TASK_STATUSES = ["open", "completed", "skipped", "expired"] as const;

export const Task = z
  .object({
    id: z.string(),
    taskType: z.enum(TASK_TYPES),
    title: z.string(),
    instructions: z.string().nullable(),
    assignee: z.string().nullable(),
    status: z.enum(TASK_STATUSES).openapi({
      description: "An open task past its `dueAt` is `expired` (its step took outcome `timeout`)",
    }),
    outcomes: z.array(z.string()).openapi({
      description: "What completing it may report (`skipped` and `timeout` are the step's own)",
    }),
    outcome: z.string().nullable(),
    note: z.string().nullable(),
    contactId: z.string(),
    workflowId: z.string(),
    enrollmentId: z.string(),
    stepId: z.string(),
    dueAt: Timestamp,
    createdAt: Timestamp,
    completedAt: Timestamp.nullable(),
  })
  .openapi("Task");

export const TaskQuery = PageQuery.extend({
  status: z.enum(TASK_STATUSES).optional(),
  taskType: z.enum(TASK_TYPES).optional(),
  assignee: z.string().max(200).optional(),
  workflowId: z.string().max(100).optional(),
  contactId: z.string().max(100).optional(),
  dueBefore: z.iso.datetime({ offset: true }).optional().openapi({
    description: "Tasks due before this instant",
  }),
});

export const CompleteTask = z
  .strictObject({
    outcome: z.string().min(1).max(50).optional().openapi({
      description: "One of the task's `outcomes`; may be left out when it has only one",
    }),
    note: z.string().max(10_000).optional(),
  })
  .openapi("CompleteTask");

export const SkipTask = z
  .strictObject({ note: z.string().max(10_000).optional() })
  .openapi("SkipTask");

/** An open task past its due time reads as expired (the cron writes it down later). */
export const taskJson = (t: TaskRow, now = Date.now()) => {
  const expired = t.status === "open" && t.dueAt <= now;
  return {
    id: t.id,
    taskType: t.taskType,
    title: t.title,
    instructions: t.instructions,
    assignee: t.assignee,
    status: expired ? ("expired" as const) : t.status,
    outcomes: t.outcomes.filter((o) => o !== "skipped" && o !== "timeout"),
    outcome: expired ? "timeout" : t.outcome,
    note: t.note,
    contactId: t.contactId,
    workflowId: t.workflowId,
    enrollmentId: t.enrollmentId,
    stepId: t.stepId,
    dueAt: iso(t.dueAt) as string,
    createdAt: iso(t.createdAt) as string,
    completedAt: iso(t.completedAt),
  };
};
