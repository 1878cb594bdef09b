// One enrollment = one Durable Object. It drives the pure engine and persists what it decides:
// each run reads what D1 knows (the workflow's status, the contact, which events the org's
// webhooks want), calls advance(), hands the effects to their queues through the effect ledger
// (deterministic keys, kept until confirmed), saves the state and timeline, mirrors a summary
// into D1 when a query needs it, and re-arms last. The first run happens inside start(), from
// what the starter just read. Three small parts keep their own concerns — the store, the effect
// ledger, the D1 mirror — and the object arbitrates the one alarm between the engine's next
// wake and the ledger's. A link of a contact chain hands the chain on when it ends.
import { DurableObject } from "cloudflare:workers";
import { contactSnapshot } from "../../contacts";
import { type Db, shardFor } from "../../db/shards";
import { advance, initialState, lifecycleEffect, MAX_STEPS_PER_RUN } from "../../engine/advance";
import type {
  AdvanceResult,
  Effect,
  EngineInput,
  EnrollmentState,
  WorkflowDefinition,
} from "../../engine/types";
import { config } from "../../ground/config";
import type { Env } from "../../ground/env";
import { DomainError } from "../../ground/errors";
import { createLogger, errorText, type Logger } from "../../ground/log";
import { countEngine, inUnit } from "../../ground/metrics";
import type { EnrollmentRpc, EnrollmentSnapshot, PokeResult, StartPayload } from "../../ground/rpc";
import { claimCapSlots, releaseSlots, sendingPolicyOf } from "../../messaging";
import { wants } from "../../webhooks";
import { handOverChain } from "../chains";
import { enrollmentContext } from "../store";
import { EffectLedger } from "./effect-ledger";
import { jobsFor, sendJobs } from "./effects";
import { Mirror } from "./mirror";
import { EnrollmentStore } from "./store";

/** An object woken after a restart re-sends at once what has waited this long for confirmation. */
const STALE_ON_WAKE_MS = 5_000;
/** While the workflow is paused, held enrollments look again this often. */
const HOLD_RECHECK_MS = 30_000;
/** The runtime retries a throwing alarm up to 6 times; on the last one we fail the enrollment instead. */
const LAST_ALARM_RETRY = 5;
/** When an org being moved says nothing of when to come back. */
const MOVING_RETRY_MS = 5_000;

/** The wait a refusal's Retry-After asks for (seconds), else MOVING_RETRY_MS. */
function retryAfterMs(err: DomainError) {
  const seconds = Number(err.headers?.["Retry-After"]);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : MOVING_RETRY_MS;
}

type Ending = Extract<EngineInput, { type: "cancel" | "exit_on" | "fail" }>;

const isActive = (s: EnrollmentState | undefined) =>
  s?.status === "running" || s?.status === "waiting";

export class EnrollmentDO extends DurableObject<Env> implements EnrollmentRpc {
  private readonly store: EnrollmentStore;
  private readonly ledger: EffectLedger;
  private readonly mirror: Mirror;
  private log: Logger;
  /** Engine runs and endings happen one at a time, even across awaits on D1 and queues. */
  private chain: Promise<unknown> = Promise.resolve();
  /** True until this instance's first alarm: an instance is new after eviction or a restart. */
  private fresh = true;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new EnrollmentStore(ctx.storage);
    this.ledger = new EffectLedger(
      ctx.storage.sql,
      (jobs) => sendJobs(this.env, jobs, this.log),
      // An effect not confirmed within this long is sent again (consumers are idempotent by key).
      config(env).effectRedeliveryMs,
    );
    this.mirror = new Mirror(ctx.storage.kv, (orgId) => shardFor(this.env, orgId));
    this.log = createLogger({ enrollmentId: this.store.state()?.id ?? null }, config(env).logLevel);
  }

  /** The database of this enrollment's org (the shard the directory names). */
  private database(state: EnrollmentState): Promise<Db> {
    return shardFor(this.env, state.orgId);
  }

  // ---- RPC -------------------------------------------------------------------------------

  async start(p: StartPayload): Promise<boolean> {
    return this.serial(async () => {
      if (this.store.state() || this.store.tombstoned()) {
        return false;
      }
      const state = initialState(
        {
          id: p.enrollmentId,
          orgId: p.orgId,
          workflowId: p.workflowId,
          contactId: p.contactId,
          contact: p.contact,
          vars: p.vars,
          event: p.event,
          timezone: p.timezone,
          bypassSendWindow: p.bypassSendWindow,
          bypassCallWindow: p.bypassCallWindow ?? false,
          chain: p.chain ?? null,
        },
        p.startAt,
      );
      this.log = this.log.child({ enrollmentId: p.enrollmentId });
      this.store.begin(p.definition);
      if (p.subscriptions) {
        this.store.setSubscriptions(p.subscriptions);
      }
      // The first run now, from what the starter just read (the workflow is active, the
      // contact is fresh): no alarm hop, no D1 read.
      await this.step(state, p.definition, { type: "wake" }, [
        lifecycleEffect(state, "enrollment.created"),
      ]);
      return true;
    });
  }

  async deliverEvent(name: string, data: Record<string, unknown>): Promise<boolean> {
    const state = this.store.state();
    if (state?.status !== "waiting" || state.wait?.kind !== "event" || state.wait.event !== name) {
      return false;
    }
    const result = await this.serial(() => this.run({ type: "event", name, data }));
    return result?.changed === true;
  }

  async deliverOutcome(
    key: string,
    outcome: string,
    data?: Record<string, unknown>,
  ): Promise<boolean> {
    const state = this.store.state();
    if (state?.status !== "waiting" || state.wait?.kind !== "outcome" || state.wait.key !== key) {
      return false;
    }
    const result = await this.serial(() => this.run({ type: "outcome", key, outcome, data }));
    return result?.changed === true;
  }

  async exitOn(name: string, reason?: string): Promise<boolean> {
    return this.serial(() => this.end({ type: "exit_on", event: name, reason }));
  }

  async holdUntil(until: number, reason: string): Promise<boolean> {
    return this.serial(async () => {
      const state = this.store.state();
      if (!state || !isActive(state) || until <= Date.now()) {
        return false;
      }
      this.store.hold(until, reason);
      return true;
    });
  }

  async cancel(reason: string): Promise<boolean> {
    if (!this.store.state()) {
      // Never started (or its start was lost): a tombstone makes a late start refuse.
      this.store.tombstone(reason);
      return false;
    }
    return this.serial(() => this.end({ type: "cancel", reason }));
  }

  async ackEffects(keys: string[]): Promise<void> {
    const state = this.store.state();
    if (!state) {
      return; // never started, or deleted: nothing is tracked
    }
    this.ledger.confirm(keys);
    if (!isActive(state) && this.ledger.size() === 0) {
      // The last effects of a finished enrollment: D1 may show its end now.
      await this.serial(async () => {
        await this.mirror.flush(state, null, 0);
        await this.arm(null);
      });
    }
  }

  async failFromDelivery(stepId: string, error: string): Promise<boolean> {
    return this.serial(() => this.end({ type: "fail", code: "delivery_failed", stepId, error }));
  }

  async forgetContact(): Promise<void> {
    await this.serial(async () => this.store.forgetContact());
  }

  async destroy(): Promise<void> {
    await this.serial(async () => {
      await this.end({ type: "cancel", reason: "deleted" });
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      this.store.tombstone("deleted");
    });
  }

  async snapshot(): Promise<EnrollmentSnapshot | null> {
    const state = this.store.state();
    const definition = this.store.definition();
    if (!state || !definition) {
      return null;
    }
    return {
      state,
      logs: this.store.logs(),
      nextRunAt: await this.ctx.storage.getAlarm(),
      version: definition.version,
      pendingEffects: this.ledger.size(),
      heldUntil: this.store.held()?.until ?? null,
    };
  }

  async poke(): Promise<PokeResult> {
    const state = this.store.state();
    if (!state) {
      return "not_started";
    }
    const active = isActive(state);
    if (
      (active || this.ledger.nextWake() !== null) &&
      (await this.ctx.storage.getAlarm()) == null
    ) {
      await this.ctx.storage.setAlarm(Date.now());
      return "rearmed";
    }
    if (!active) {
      await this.serial(() => this.mirror.write(state, this.ledger.nextWake(), this.ledger.size()));
      return "finished";
    }
    return "ok";
  }

  // ---- alarm -----------------------------------------------------------------------------

  override async alarm(info?: AlarmInvocationInfo): Promise<void> {
    // A new instance (after an eviction or a restart) re-sends at once what has waited long.
    const staleAfter = this.fresh ? STALE_ON_WAKE_MS : undefined;
    this.fresh = false;
    try {
      await this.serial(() => this.run({ type: "wake" }));
      await this.serial(() => this.redeliver(staleAfter));
    } catch (err) {
      if (err instanceof DomainError && err.code === "service_unavailable") {
        // The org is being moved to another shard (shardFor refuses it for a while): look again
        // after its Retry-After, not on the runtime's retries — a long move would use up all
        // six and fail an enrollment that nothing is wrong with.
        this.log.info("org being moved; alarm deferred", { error: errorText(err) });
        await this.deferAlarm(retryAfterMs(err));
        return;
      }
      const retryCount = info?.retryCount ?? 0;
      this.store.noteError(errorText(err));
      this.log.error("enrollment alarm failed", { retryCount, error: errorText(err) });
      if (retryCount >= LAST_ALARM_RETRY) {
        // Never silently stuck: record the failure even if the queues or D1 are what is failing.
        const message = err instanceof Error ? err.message : String(err);
        await this.serial(() =>
          this.end(
            {
              type: "fail",
              code: "alarm_failed",
              error: `Alarm failed after ${retryCount + 1} attempts: ${message}`,
            },
            true,
          ),
        );
        return;
      }
      throw err;
    }
  }

  // ---- internals -------------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const unit = () => inUnit("object", fn);
    const p = this.chain.then(unit, unit);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** One engine run: refresh what D1 knows (workflow status, contact, subscriptions), then step. */
  private async run(input: EngineInput): Promise<AdvanceResult | null> {
    const state = this.store.state();
    const def = this.store.definition();
    if (!state || !def || !isActive(state)) {
      return null;
    }
    const { workflow, contact, subscriptions } = await enrollmentContext(
      await this.database(state),
      state.orgId,
      state.workflowId,
      state.contactId,
    );
    this.store.setSubscriptions(subscriptions);
    if (!workflow || workflow.deletedAt != null) {
      await this.end({ type: "cancel", reason: "workflow_deleted" });
      return null;
    }
    if (contact?.erasedAt != null) {
      await this.end({ type: "cancel", reason: "contact_deleted" });
      return null;
    }
    if (contact) {
      state.contact = {
        ...contactSnapshot(contact),
        data: { ...contact.data, ...this.mirror.unwrittenContactData() },
      };
    }
    const now = Date.now();
    const held = this.store.held();
    if (held && input.type === "wake") {
      if (held.until > now) {
        // An automatic reply asked for a pause: the next step waits for the return date.
        await this.mirror.write(state, held.until, this.ledger.size());
        await this.arm(held.until);
        return null;
      }
      this.store.release();
    }
    if (workflow.status === "paused" && input.type === "wake") {
      // Held at its next step until the workflow is active again.
      const holdUntil = now + HOLD_RECHECK_MS;
      await this.mirror.write(state, holdUntil, this.ledger.size());
      await this.ctx.storage.setAlarm(holdUntil);
      return null;
    }
    return this.step(state, def, input);
  }

  /**
   * Advance, hand off the effects someone wants, persist, mirror (or leave it to the next run),
   * re-arm. `extra`: effects decided outside the engine (the enrollment's creation event).
   */
  private async step(
    state: EnrollmentState,
    def: WorkflowDefinition,
    input: EngineInput,
    extra: Effect[] = [],
  ): Promise<AdvanceResult> {
    const now = Date.now();
    const result = await this.governedAdvance(state, def, input, now);
    const effects = this.wanted([...extra, ...result.effects]);
    // Effects first: a crash after this re-runs the same visit with the same keys, which consumers dedupe.
    await this.ledger.dispatch(await jobsFor(result.state, def, effects));
    this.store.save(result.state, result.logs);
    this.mirror.note(
      result.state,
      result.logs,
      Object.assign({}, ...result.effects.map((e) => (e.type === "update_contact" ? e.data : {}))),
      extra.some((e) => e.type === "emit" && e.eventType === "enrollment.created"),
    );
    await this.mirror.settle(result.state, result.wakeAt, this.ledger.size(), now);
    await this.arm(result.wakeAt);
    countEngine(result.logs.filter((l) => l.status === "started").length);
    if (isActive(state) && !isActive(result.state)) {
      await this.handOverChain(result.state);
    }
    return result;
  }

  /**
   * advance() under the org's sending policy: quiet hours go in; then each marketing send under
   * a frequency cap claims its slot in D1, and if a cap is full the run is decided again with
   * that send blocked (it waits for room, or is skipped). Slots of sends a re-decided run no
   * longer makes are given back.
   */
  private async governedAdvance(
    state: EnrollmentState,
    def: WorkflowDefinition,
    input: EngineInput,
    now: number,
  ): Promise<AdvanceResult> {
    const db = await this.database(state);
    const policy = await sendingPolicyOf(db, state.orgId, now);
    const sending = {
      quietHours: policy.quietHours,
      blocked: {} as Record<string, number>,
      topics: policy.topics,
    };
    let result = advance(def, state, input, now, { sending });
    if (Object.keys(policy.caps).length === 0) {
      return result;
    }
    const held = new Set<string>();
    // Each round blocks at least one more send, so this ends (a run makes at most 100 steps).
    for (let round = 0; ; round++) {
      const claimed = await claimCapSlots(db, state, result.effects, policy, now);
      for (const k of claimed.held) {
        held.add(k);
      }
      if (Object.keys(claimed.refused).length === 0) {
        break;
      }
      if (round >= MAX_STEPS_PER_RUN) {
        throw new Error("The run's sends under frequency caps did not settle");
      }
      Object.assign(sending.blocked, claimed.refused);
      result = advance(def, state, input, now, { sending });
    }
    const kept = new Set(result.effects.map((e) => e.key));
    await releaseSlots(
      db,
      [...held].filter((k) => !kept.has(k)),
    );
    return result;
  }

  /** Drops lifecycle events no webhook of the org subscribes to (nobody would receive them). */
  private wanted(effects: Effect[]): Effect[] {
    const types = this.store.subscriptions();
    if (types === null) {
      return effects; // never looked: the webhook consumer decides
    }
    const set = new Set(types);
    return effects.filter((e) => e.type !== "emit" || wants(set, e.eventType));
  }

  /**
   * An ending decided outside the steps (cancel, exitOn, a failed delivery, a failing alarm):
   * the engine writes the state, its log line and its lifecycle event. `tolerant`: the state
   * is saved even when handing off the event or mirroring fails (the watchdog re-mirrors later).
   */
  private async end(input: Ending, tolerant = false): Promise<boolean> {
    const state = this.store.state();
    const def = this.store.definition();
    if (!state || !def || !isActive(state)) {
      return false;
    }
    const result = advance(def, state, input, Date.now());
    const effects = this.wanted(result.effects);
    const tolerate = (what: string) => (err: unknown) => {
      if (!tolerant) {
        throw err;
      }
      this.log.error(what, { error: errorText(err) });
    };
    await this.ledger
      .dispatch(await jobsFor(result.state, def, effects))
      .catch(tolerate("emit on failure lost"));
    this.store.save(result.state, result.logs);
    this.mirror.note(result.state, result.logs);
    await this.arm(null);
    await this.mirror
      .write(result.state, this.ledger.nextWake(), this.ledger.size())
      .catch(tolerate("mirror deferred to watchdog"));
    await this.handOverChain(result.state);
    return true;
  }

  /** A chain link that ended hands its chain on (the watchdog does it when this is lost). */
  private async handOverChain(state: EnrollmentState) {
    if (!state.chain) {
      return;
    }
    try {
      await handOverChain(
        this.env,
        await this.database(state),
        {
          id: state.id,
          orgId: state.orgId,
          workflowId: state.workflowId,
          chainKey: state.chain.key,
        },
        state.chainSucceeded === true,
        this.log,
      );
    } catch (err) {
      this.log.warn("chain hand-over deferred to the watchdog", { error: errorText(err) });
    }
  }

  /** Sends again the effects whose consumer never confirmed them (a queue lost them). */
  private async redeliver(staleAfterMs?: number) {
    const due = this.ledger.due(Date.now(), staleAfterMs);
    if (due.length > 0) {
      this.log.warn("re-sending unconfirmed effects", { count: due.length });
      await this.ledger.dispatch(due);
    }
    const state = this.store.state();
    if (!isActive(state)) {
      await this.arm(null);
      if (state) {
        // Effects still unconfirmed at their check: D1 shows the end, with the count pending.
        await this.mirror.flush(state, this.ledger.nextWake(), this.ledger.size());
      }
    } else if (due.length > 0) {
      const held = this.store.held()?.until ?? 0;
      const wake = state?.wait?.until ?? null;
      await this.arm(held > Date.now() ? Math.max(held, wake ?? 0) : wake);
    }
  }

  /** Wakes again within `ms`, keeping an alarm the failed run may already have set sooner. */
  private async deferAlarm(ms: number) {
    const at = Date.now() + ms;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) {
      await this.ctx.storage.setAlarm(at);
    }
  }

  /** The one alarm: the earlier of the engine's wake time and the ledger's next redelivery check. */
  private async arm(engineWake: number | null) {
    const ledgerWake = this.ledger.nextWake();
    const at =
      engineWake === null
        ? ledgerWake
        : ledgerWake === null
          ? engineWake
          : Math.min(engineWake, ledgerWake);
    if (at === null) {
      await this.ctx.storage.deleteAlarm();
    } else {
      await this.ctx.storage.setAlarm(at);
    }
  }
}
