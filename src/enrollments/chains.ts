// Contact chaining (11x's groupByField): enrollments of one workflow whose `groupBy` variable
// shares a value form a chain. One link runs at a time; when it ends without success the next
// starts, and when one succeeds the rest end `cancelled` (chain_satisfied). The enrollment
// object hands its chain on when it ends; the watchdog does it when that hand-over was lost.
import type { Db } from "../db/client";
import type { Env } from "../ground/env";
import { errorText, type Logger } from "../ground/log";
import { publish } from "../webhooks";
import { enrollmentStub, startPayloadFromD1 } from "./enrollments";
import { type EnrollmentRow, handOverChainLink } from "./store";

export interface ChainLink {
  /** The link that ended ("" when the chain only needs its next link started). */
  id: string;
  orgId: string;
  workflowId: string;
  chainKey: string;
}

/** Hands the chain on from a link that ended; returns the id of the link started, if any. */
export async function handOverChain(
  env: Env,
  db: Db,
  link: ChainLink,
  succeeded: boolean,
  log: Logger,
): Promise<string | null> {
  const { next, cancelled } = await handOverChainLink(db, link, succeeded, Date.now());
  await Promise.all(cancelled.map((row) => cancelWaitingLink(env, db, row, log)));
  if (!next) {
    return null;
  }
  const payload = await startPayloadFromD1(db, next);
  if (payload) {
    // A failed start is retried by the watchdog (the link is active with nothing running).
    await enrollmentStub(env, next.id)
      .start(payload)
      .catch((err) =>
        log.warn("chain link start failed", { enrollmentId: next.id, error: errorText(err) }),
      );
  }
  return next.id;
}

/** A waiting link the chain no longer needs: its object refuses a late start; webhooks hear of it. */
async function cancelWaitingLink(env: Env, db: Db, row: EnrollmentRow, log: Logger) {
  try {
    await enrollmentStub(env, row.id).cancel("chain_satisfied");
    await publish(
      env,
      db,
      row.orgId,
      "enrollment.cancelled",
      {
        enrollmentId: row.id,
        workflowId: row.workflowId,
        contactId: row.contactId,
        status: "cancelled",
        exitReason: "chain_satisfied",
        error: null,
      },
      { key: `${row.id}:enrollment.cancelled` },
    );
  } catch (err) {
    log.warn("chain link cancel not confirmed", { enrollmentId: row.id, error: errorText(err) });
  }
}
