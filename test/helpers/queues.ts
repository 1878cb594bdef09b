// Drives the Worker's real queue() handler with a message batch and reads back what it did
// with each message (ack, or retry with which delay), as the Queues runtime would.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import worker from "../../src";

export async function consume(queue: string, bodies: unknown[], attempts = 1) {
  const messages = bodies.map((body, i) => ({
    id: `m${i}-${crypto.randomUUID()}`,
    timestamp: new Date(),
    attempts,
    body,
  }));
  const batch = createMessageBatch(queue, messages);
  // getQueueResult reports which messages were retried but not the delay asked: record it here.
  const delays = new Map<string, number>();
  for (const m of batch.messages) {
    const retry = m.retry.bind(m);
    m.retry = (opts?: QueueRetryOptions) => {
      delays.set(m.id, opts?.delaySeconds ?? 0);
      retry(opts);
    };
  }
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  const result = await getQueueResult(batch, ctx);
  return {
    ...result,
    /** The delay (seconds) the handler asked for message `i`, or null when it acknowledged it. */
    delayOf: (i: number) => {
      const id = messages[i].id;
      if (result.retryMessages.some((r) => r.msgId === id)) {
        return delays.get(id) ?? 0;
      }
      if (result.explicitAcks.includes(id) || result.ackAll) {
        return null;
      }
      throw new Error(
        `message ${i} was neither acknowledged nor retried: ${JSON.stringify(result)}`,
      );
    },
  };
}

/**
 * Captures what enrollment objects hand to `queue` (instead of delivering it), while `fn`
 * runs; other queues are untouched. Returns the captured bodies that `keep` selects.
 */
export function captureQueue<T>(
  queue: "MESSAGE_QUEUE" | "WEBHOOK_QUEUE" | "EVENT_QUEUE",
  keep: (body: T) => boolean = () => true,
) {
  const captured: T[] = [];
  const accepted = { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };
  const q = env[queue] as unknown as Queue<T>;
  const realBatch = q.sendBatch.bind(q);
  const realSend = q.send.bind(q);
  const batchSpy = vi
    .spyOn(q, "sendBatch")
    .mockImplementation(async (msgs: Iterable<MessageSendRequest<T>>) => {
      const pass: MessageSendRequest<T>[] = [];
      for (const m of msgs) {
        if (keep(m.body)) {
          captured.push(m.body);
        } else {
          pass.push(m);
        }
      }
      return pass.length > 0 ? realBatch(pass) : accepted;
    });
  const sendSpy = vi
    .spyOn(q, "send")
    .mockImplementation(async (body: T, opts?: QueueSendOptions) => {
      if (!keep(body)) {
        return realSend(body, opts);
      }
      captured.push(body);
      return accepted;
    });
  return {
    captured,
    restore() {
      batchSpy.mockRestore();
      sendSpy.mockRestore();
    },
  };
}
