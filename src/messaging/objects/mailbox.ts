// One email connection (mailbox) = one Durable Object: it hands out send slots in order under
// the connection's limits (per day in its time zone, a minimum gap with jitter, a warm-up ramp),
// so a burst drains at the allowed pace instead of failing. The same send (its effect key)
// always gets the same slot.
import { DurableObject } from "cloudflare:workers";
import {
  capWindows,
  type MailboxBook,
  type MailboxLimits,
  nextSlot,
} from "../../engine/governance";
import type { Env } from "../../ground/env";
import type { MailboxRpc, MailboxStats } from "../../ground/rpc";

/** Slots are remembered two days past their time (a retried send finds its own). */
const SLOT_KEEP_MS = 2 * 86_400_000;

const EMPTY: MailboxBook = { last: null, days: {}, firstDay: null };

export class MailboxDO extends DurableObject<Env> implements MailboxRpc {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("create table if not exists slots (key text primary key, at integer not null)");
  }

  private book(): MailboxBook {
    return this.ctx.storage.kv.get<MailboxBook>("book") ?? EMPTY;
  }

  async reserve(key: string, limits: MailboxLimits): Promise<number> {
    const held = this.sql.exec<{ at: number }>("select at from slots where key = ?", key).toArray();
    if (held.length > 0) {
      return held[0].at;
    }
    const now = Date.now();
    const { at, book } = nextSlot(this.book(), limits, key, now);
    this.ctx.storage.kv.put("book", book);
    this.sql.exec("insert into slots (key, at) values (?, ?)", key, at);
    this.sql.exec("delete from slots where at < ?", now - SLOT_KEEP_MS);
    return at;
  }

  async peek(limits: MailboxLimits): Promise<number> {
    return nextSlot(this.book(), limits, "peek", Date.now()).at;
  }

  async stats(limits: MailboxLimits | null): Promise<MailboxStats> {
    const book = this.book();
    const tz = limits?.timezone ?? "UTC";
    const { day } = capWindows(Date.now(), tz);
    const dayIndex =
      book.firstDay === null
        ? null
        : Math.round(
            (Date.parse(`${day}T00:00:00Z`) - Date.parse(`${book.firstDay}T00:00:00Z`)) /
              86_400_000,
          );
    return {
      today: book.days[day] ?? 0,
      nextFreeAt: limits ? nextSlot(book, limits, "peek", Date.now()).at : null,
      warmupDay: limits?.warmup && dayIndex !== null ? dayIndex : null,
    };
  }
}
