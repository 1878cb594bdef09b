// One agent (or one agent template, shared by its agents) = one gate: it admits executions
// under the execution policy — so many at once, so many a day, a daily budget — and hands
// freed slots to the waiting in order, sending each on to the agent queue. The decisions are
// pure (src/agents/rules.ts); this object keeps the book and wakes for a new day or a lapsed lease.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../ground/env";
import type { AgentGateRpc, GateStatus } from "../../ground/rpc";
import {
  type Admission,
  admit,
  current,
  EMPTY_GATE,
  type ExecutionPolicy,
  type GateBook,
  gateWakeAt,
  release,
} from "../rules";

export class AgentGateDO extends DurableObject<Env> implements AgentGateRpc {
  private book(): GateBook {
    return this.ctx.storage.kv.get<GateBook>("book") ?? EMPTY_GATE;
  }

  private async save(
    orgId: string,
    book: GateBook,
    policy: ExecutionPolicy,
    tz: string,
    now: number,
  ) {
    this.ctx.storage.kv.put("book", book);
    this.ctx.storage.kv.put("policy", { orgId, policy, tz });
    const wake = gateWakeAt(book, now, tz);
    if (wake !== null) {
      await this.ctx.storage.setAlarm(wake);
    }
  }

  async admit(
    orgId: string,
    executionId: string,
    policy: ExecutionPolicy,
    tz: string,
    waits = true,
  ): Promise<Admission> {
    const now = Date.now();
    const { verdict, book } = admit(this.book(), executionId, policy, now, tz, waits);
    await this.save(orgId, book, policy, tz, now);
    return verdict;
  }

  async release(
    orgId: string,
    executionId: string | null,
    costUsd: number,
    policy: ExecutionPolicy,
    tz: string,
  ) {
    const now = Date.now();
    const { book, admitted } = release(this.book(), executionId, costUsd, policy, now, tz);
    // Sent before the book is saved: a lost send leaves them waiting, never admitted and dropped.
    if (admitted.length > 0) {
      await this.env.AGENT_QUEUE.sendBatch(
        admitted.map((id) => ({ body: { kind: "run" as const, orgId, executionId: id } })),
      );
    }
    await this.save(orgId, book, policy, tz, now);
  }

  async status(tz: string): Promise<GateStatus> {
    const now = Date.now();
    // Lapsed leases and a new day, as admission would see them (nothing saved).
    const book = current(this.book(), now, tz);
    return {
      running: Object.keys(book.running).length,
      waiting: book.waiting.length,
      startedToday: book.started,
      spentTodayUsd: book.spentUsd,
    };
  }

  override async alarm() {
    const saved = this.ctx.storage.kv.get<{ orgId?: string; policy: ExecutionPolicy; tz: string }>(
      "policy",
    );
    // A book saved before gates knew their org waits for its next admit or release to learn it.
    if (saved?.orgId) {
      await this.release(saved.orgId, null, 0, saved.policy, saved.tz);
    }
  }
}
