// @nudge/sdk — the generated client (./gen, from the served OpenAPI document) behind a thin
// Nudge class: the seed's calls verbatim (`client.bulkEnroll("wf_abc", ["con_1"])`), typed
// requests and answers, errors thrown as NudgeError, an Idempotency-Key on every POST, retries
// with backoff on 429/5xx honouring Retry-After, and async iteration over cursor pages.
import { type Client, createClient, createConfig } from "./gen/client";
import * as api from "./gen/sdk.gen";
import type * as T from "./gen/types.gen";

export * as operations from "./gen/sdk.gen";
export type * from "./gen/types.gen";

export interface NudgeOptions {
  apiKey: string;
  /** e.g. https://nudge.example.workers.dev (no trailing /v1) */
  baseUrl: string;
  /** Retries of a 429, a 5xx or a network error (default 3); POSTs keep their Idempotency-Key. */
  maxRetries?: number;
  /** Another fetch (tests, proxies). */
  fetch?: typeof fetch;
}

/** An error answer of the API, in its error shape. */
export class NudgeError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    readonly requestId: string | undefined,
    readonly details?: unknown[],
  ) {
    super(message);
    this.name = "NudgeError";
  }

  static async from(response: Response | undefined, body: unknown): Promise<NudgeError> {
    const b = (body ?? {}) as Partial<T.Error>;
    return new NudgeError(
      response?.status ?? 0,
      b.error ?? (response ? `http_${response.status}` : "network_error"),
      b.message ?? (response ? response.statusText : String(body)),
      b.requestId ?? response?.headers.get("x-request-id") ?? undefined,
      b.details,
    );
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** fetch with an Idempotency-Key on POSTs and retries on 429/5xx/network errors. */
function resilientFetch(inner: typeof fetch, maxRetries: number): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    if (request.method === "POST" && !request.headers.has("idempotency-key")) {
      request.headers.set("idempotency-key", crypto.randomUUID());
    }
    for (let attempt = 0; ; attempt++) {
      let response: Response | undefined;
      try {
        response = await inner(request.clone());
      } catch (err) {
        if (attempt >= maxRetries) {
          throw err;
        }
      }
      if (response && response.status !== 429 && response.status < 500) {
        return response;
      }
      if (response && attempt >= maxRetries) {
        return response;
      }
      const retryAfter = Number(response?.headers.get("retry-after"));
      const backoff = Math.min(8_000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);
      await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : backoff);
    }
  };
}

type Result<D> = { data?: D; error?: unknown; response?: Response };
type Page<E> = { data: E[]; nextCursor: string | null };

export class Nudge {
  readonly client: Client;

  constructor(options: NudgeOptions) {
    if (!options.apiKey) {
      throw new TypeError("Nudge: apiKey is required");
    }
    this.client = createClient(
      createConfig({
        baseUrl: options.baseUrl.replace(/\/+$/, ""),
        fetch: resilientFetch(options.fetch ?? globalThis.fetch, options.maxRetries ?? 3),
        headers: { authorization: `Bearer ${options.apiKey}` },
      }),
    );
  }

  /** Unwraps a generated call: its data, or a NudgeError. */
  private async run<D>(call: Promise<Result<D>>): Promise<D> {
    const r = await call;
    if (r.error !== undefined || !r.response?.ok) {
      throw await NudgeError.from(r.response, r.error);
    }
    return r.data as D;
  }

  /** Every item of a cursor-paged list, fetching pages as the loop goes. */
  private async *pages<E, Q extends { cursor?: string }>(
    list: (query: Q) => Promise<Page<E>>,
    query: Q,
  ): AsyncGenerator<E> {
    let cursor: string | undefined = query.cursor;
    do {
      const page = await list({ ...query, cursor });
      yield* page.data;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  // The seed's enrollment calls.
  listEnrollments(query: T.ListEnrollmentsData["query"] = {}) {
    return this.run(api.listEnrollments({ client: this.client, query }));
  }
  createEnrollment(body: T.CreateEnrollmentData["body"]) {
    return this.run(api.createEnrollment({ client: this.client, body }));
  }
  getEnrollment(id: string) {
    return this.run(api.getEnrollment({ client: this.client, path: { id } }));
  }
  /** Enrolls up to 100 contacts: ids (`con_...`) or contact objects. */
  bulkEnroll(
    workflowId: string,
    contacts: string[] | Record<string, unknown>[],
    options: { variables?: Record<string, unknown>; timezone?: string } = {},
  ) {
    const body: T.BulkEnrollment = contacts.every((c) => typeof c === "string")
      ? { workflowId, contactIds: contacts, ...options }
      : { workflowId, contacts, ...options };
    return this.run(api.bulkEnroll({ client: this.client, body }));
  }
  listEnrollmentLogs(id: string) {
    return this.run(api.listEnrollmentLogs({ client: this.client, path: { id } }));
  }
  cancelEnrollment(id: string) {
    return this.run(api.cancelEnrollment({ client: this.client, path: { id } }));
  }
  deleteEnrollment(id: string) {
    return this.run(api.deleteEnrollment({ client: this.client, path: { id } }));
  }

  readonly enrollments = {
    create: (body: T.CreateEnrollmentData["body"]) => this.createEnrollment(body),
    get: (id: string) => this.getEnrollment(id),
    /** `for await (const e of client.enrollments.list({ workflowId }))` — every page. */
    list: (query: NonNullable<T.ListEnrollmentsData["query"]> = {}) =>
      this.pages((q) => this.listEnrollments(q), query),
  };

  /** Tasks that `task` steps hand to people; completing one moves its enrollment on. */
  readonly tasks = {
    /** `for await (const t of client.tasks.list({ status: "open", assignee }))` — every page. */
    list: (query: NonNullable<T.ListTasksData["query"]> = {}) =>
      this.pages((q) => this.run(api.listTasks({ client: this.client, query: q })), query),
    get: (id: string) => this.run(api.getTask({ client: this.client, path: { id } })),
    complete: (id: string, body: T.CompleteTaskData["body"]) =>
      this.run(api.completeTask({ client: this.client, path: { id }, body })),
    skip: (id: string, body: T.SkipTaskData["body"] = {}) =>
      this.run(api.skipTask({ client: this.client, path: { id }, body })),
  };

  /** What the built-in outbox captured (no provider connected), and call outcomes by hand. */
  readonly outbox = {
    list: (query: NonNullable<T.ListOutboxData["query"]> = {}) =>
      this.pages((q) => this.run(api.listOutbox({ client: this.client, query: q })), query),
    recordCallOutcome: (id: string, body: T.RecordCallOutcomeData["body"]) =>
      this.run(api.recordCallOutcome({ client: this.client, path: { id }, body })),
  };

  readonly workflows = {
    create: (body: T.CreateWorkflowData["body"]) =>
      this.run(api.createWorkflow({ client: this.client, body })),
    get: (id: string) => this.run(api.getWorkflow({ client: this.client, path: { id } })),
    update: (id: string, body: T.UpdateWorkflowData["body"]) =>
      this.run(api.updateWorkflow({ client: this.client, path: { id }, body })),
    activate: (id: string) =>
      this.run(
        api.updateWorkflow({ client: this.client, path: { id }, body: { status: "active" } }),
      ),
    /** A dry run in simulated time: the trace, nothing sent. */
    test: (id: string, body: T.TestWorkflowData["body"] = {}) =>
      this.run(api.testWorkflow({ client: this.client, path: { id }, body })),
    stats: (id: string) => this.run(api.getWorkflowStats({ client: this.client, path: { id } })),
    list: (query: NonNullable<T.ListWorkflowsData["query"]> = {}) =>
      this.pages((q) => this.run(api.listWorkflows({ client: this.client, query: q })), query),
  };

  readonly contacts = {
    upsert: (body: T.UpsertContactData["body"]) =>
      this.run(api.upsertContact({ client: this.client, body })),
    get: (id: string) => this.run(api.getContact({ client: this.client, path: { id } })),
    list: (query: NonNullable<T.ListContactsData["query"]> = {}) =>
      this.pages((q) => this.run(api.listContacts({ client: this.client, query: q })), query),
  };

  readonly events = {
    track: (body: T.TrackEventData["body"], query: T.TrackEventData["query"] = {}) =>
      this.run(api.trackEvent({ client: this.client, body, query })),
    trackBatch: (events: T.TrackEventsData["body"]["events"]) =>
      this.run(api.trackEvents({ client: this.client, body: { events } })),
  };

  readonly messages = {
    list: (query: NonNullable<T.ListMessagesData["query"]> = {}) =>
      this.pages((q) => this.run(api.listMessages({ client: this.client, query: q })), query),
  };
}
