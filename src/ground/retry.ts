// Retries in one place: exponential backoff (with jitter where the delay is not a documented
// schedule), Retry-After honoured, the 12 h a queue delay allows, and queue sends in slices
// of 100 (a sendBatch's limit).

/** The longest delay a queue message may be given. */
export const MAX_QUEUE_DELAY_SECONDS = 43_200;

export interface Backoff {
  /** The first delay; each further attempt doubles it. */
  baseSeconds: number;
  /** The longest delay (never more than a queue allows). */
  capSeconds?: number;
  /** A server's Retry-After, in seconds: the delay is at least this. */
  retryAfterSeconds?: number;
  /** 0..1: the share of the delay that is randomised away, so retries spread out. */
  jitter?: number;
}

/** The delay before attempt `attempt + 1`, where `attempt` (1-based) just failed. */
export function backoffSeconds(attempt: number, b: Backoff): number {
  const cap = Math.min(b.capSeconds ?? MAX_QUEUE_DELAY_SECONDS, MAX_QUEUE_DELAY_SECONDS);
  const exponential = Math.min(b.baseSeconds * 2 ** Math.max(0, attempt - 1), cap);
  const spread = exponential - Math.floor(exponential * (b.jitter ?? 0) * Math.random());
  return honourRetryAfter(spread, b.retryAfterSeconds ?? 0);
}

/** A planned delay, raised to what Retry-After asks for, within a queue's limit. */
export const honourRetryAfter = (delaySeconds: number, retryAfter: number) =>
  Math.min(Math.max(delaySeconds, retryAfter), MAX_QUEUE_DELAY_SECONDS);

/** Retry-After in seconds (a number or an HTTP date), 0 when absent or unreadable. */
export function retryAfterSeconds(res: Response): number {
  const h = res.headers.get("retry-after");
  if (!h) {
    return 0;
  }
  const n = Number(h);
  if (Number.isFinite(n)) {
    return Math.max(0, n);
  }
  const at = Date.parse(h);
  return Number.isNaN(at) ? 0 : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** Sends every body, at most 100 per sendBatch. */
export async function sendInSlices<T>(
  queue: Queue<T>,
  bodies: T[],
  options?: QueueSendOptions,
): Promise<void> {
  for (let i = 0; i < bodies.length; i += 100) {
    await queue.sendBatch(bodies.slice(i, i + 100).map((body) => ({ body, ...options })));
  }
}
