// Outreach beyond email: the send_sms, call and task steps' configs (their types travel from
// the step through the queue job to the consumer). Pure; imports nothing of the engine's.
import { z } from "zod";

/** An SMS body after rendering: at most 10 segments' worth, as carriers concatenate them. */
export const SMS_MAX_CHARS = 1600;

export const SendSmsConfig = z
  .object({
    body: z
      .string()
      .min(1)
      .max(10_000)
      .describe(`Liquid; at most ${SMS_MAX_CHARS} characters after rendering`),
    connectionId: z.string().max(100).optional(),
    onError: z.enum(["fail", "continue"]).default("fail").optional(),
    category: z
      .enum(["marketing", "transactional"])
      .optional()
      .describe(
        "Default: the workflow's `category` (marketing). Transactional texts ignore frequency caps and quiet hours (never STOP)",
      ),
    topic: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe("A topic key: a marketing text goes only to contacts subscribed to it"),
  })
  .strict();
export type SendSmsConfig = z.infer<typeof SendSmsConfig>;

export const CALL_OUTCOMES = ["answered", "voicemail", "no_answer", "busy", "failed"] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

export const CallConfig = z
  .object({
    script: z
      .string()
      .min(1)
      .max(20_000)
      .optional()
      .describe(
        "Liquid: what a Twilio call says (TwiML <Say>), or the first message a voice agent speaks",
      ),
    agent: z
      .object({
        assistantId: z.string().min(1).max(200),
        variables: z.record(z.string(), z.unknown()).optional(),
      })
      .strict()
      .optional()
      .describe("For a voice-agent connection: the assistant that places the call"),
    twimlUrl: z
      .string()
      .url()
      .max(2048)
      .optional()
      .describe("Twilio Voice: a TwiML URL to fetch instead of the script"),
    maxDurationSeconds: z
      .number()
      .int()
      .min(10)
      .max(4 * 3600)
      .default(600)
      .optional(),
    machineDetection: z.boolean().default(true).optional(),
    timeout: z
      .number()
      .int()
      .min(60)
      .max(7 * 86_400)
      .default(3600)
      .optional()
      .describe(
        "Seconds to wait for the call's outcome after it is placed; then outcome `timeout`",
      ),
    connectionId: z.string().max(100).optional(),
  })
  .strict();
export type CallConfig = z.infer<typeof CallConfig>;

export const TASK_TYPES = ["call", "linkedin", "email", "custom"] as const;

const OutcomeName = z
  .string()
  .min(1)
  .max(50)
  .regex(/^[a-z][a-z0-9_]*$/, "Outcomes are snake_case words, e.g. connected")
  .refine((o) => o !== "timeout" && o !== "skipped", {
    message: "timeout and skipped are outcomes of every task already",
  });

export const TaskConfig = z
  .object({
    taskType: z.enum(TASK_TYPES),
    title: z.string().min(1).max(500).describe("Liquid"),
    instructions: z.string().max(10_000).optional().describe("Liquid"),
    assignee: z.string().min(1).max(200).optional(),
    dueIn: z
      .number()
      .int()
      .min(60)
      .max(366 * 86_400)
      .describe("Seconds: the task expires then and the step's outcome is `timeout`"),
    outcomes: z
      .array(OutcomeName)
      .min(1)
      .max(20)
      .default(["completed"])
      .optional()
      .describe("What completing the task may report; transitions use them as `on`"),
  })
  .strict();
export type TaskConfig = z.infer<typeof TaskConfig>;

/** A task's outcomes: the declared ones, then `skipped` and `timeout`. */
export const taskOutcomes = (c: Partial<TaskConfig>) => [
  ...(c.outcomes ?? ["completed"]),
  "skipped",
  "timeout",
];
