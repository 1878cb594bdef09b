// Moving an org to another shard while it runs (POST /v1/admin/orgs/{id}/move, npm run
// shards:move). The org is marked moving — from then on shardFor refuses it with 503 and
// Retry-After, so its API calls are refused and its alarms and queue jobs come back later —
// then the move waits until no isolate can still hold the old placement, copies every row the
// org owns page by page, checks the counts table by table, points the directory at the new
// shard and deletes the rows left on the old one. Until the directory is switched the old
// shard stays the org's: a failure before that undoes the copy and clears the mark.

import type { Db } from "../db/shards";
import {
  claimMove,
  eligibleShards,
  forgetPlacement,
  PLACEMENT_TTL_MS,
  placementOf,
  setMoving,
  shardAt,
  switchShard,
} from "../db/shards";
import { config } from "../ground/config";
import type { Env } from "../ground/env";
import { DomainError, notFound, validationFailed } from "../ground/errors";
import {
  countRows,
  deleteRows,
  liftQuotas,
  MOVE_PAGE_ROWS,
  MOVED_TABLES,
  type MovedTable,
  NOT_ORG_DATA,
  readPage,
  tablesOf,
  writePage,
} from "./move-store";

/** Beyond the placement cache's lifetime: clock skew and a request already under way. */
const SETTLE_MARGIN_MS = 2_000;

export interface MoveOptions {
  /** The wait between marking the org moving and copying (default: config, else TTL + margin). */
  settleMs?: number;
  now?: () => number;
}

export interface MoveResult {
  orgId: string;
  from: number;
  to: number;
  /** Per table: the org's rows copied to the new shard (and deleted from the old one). */
  tables: { name: string; rows: number }[];
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Moves the org's rows to shard `to` and points the directory there (see the file's head). */
export async function moveOrg(
  env: Env,
  orgId: string,
  to: number,
  opts: MoveOptions = {},
): Promise<MoveResult> {
  const now = opts.now ?? Date.now;
  // Read the directory itself: another isolate may have started a move this one has not seen.
  forgetPlacement(orgId);
  const placement = await placementOf(env, orgId);
  if (!placement) {
    throw notFound("Org");
  }
  const from = placement.shard;
  refuseTarget(env, placement.region, from, to);
  if (placement.movingSince != null) {
    throw alreadyMoving();
  }
  const source = shardAt(env, from);
  const target = shardAt(env, to);
  const unknown = (await tablesOf(source)).filter(
    (name) => !NOT_ORG_DATA[name] && !MOVED_TABLES.some((t) => t.name === name),
  );
  if (unknown.length > 0) {
    // A table the move does not know could hold the org's rows: moving would lose them.
    throw new DomainError(
      "configuration_error",
      `Shard ${from} has tables the move does not carry: ${unknown.join(", ")} (src/accounts/move-store.ts MOVED_TABLES)`,
    );
  }
  if (!(await claimMove(env, orgId, now()))) {
    throw alreadyMoving();
  }
  let tables: MoveResult["tables"];
  try {
    await wait(
      opts.settleMs ?? config(env).shardMoveSettleMs ?? PLACEMENT_TTL_MS + SETTLE_MARGIN_MS,
    );
    // Rows of an earlier move of this org that failed half-way would be counted twice.
    await purge(target, orgId);
    tables = await copy(source, target, orgId);
  } catch (err) {
    try {
      await purge(target, orgId);
    } finally {
      // The old shard was never left: the org works again from it.
      await setMoving(env, orgId, null);
    }
    throw err;
  }
  await switchShard(env, orgId, to);
  await purge(source, orgId);
  return { orgId, from, to, tables };
}

function refuseTarget(
  env: Env,
  region: Parameters<typeof eligibleShards>[1],
  from: number,
  to: number,
) {
  const { shards } = config(env);
  if (to >= shards) {
    throw validationFailed(
      [{ path: "shard", message: `there are ${shards} shards (0 to ${shards - 1})` }],
      `There is no shard ${to}`,
    );
  }
  if (to === from) {
    throw validationFailed(
      [{ path: "shard", message: "the org is already on this shard" }],
      `The org is already on shard ${to}`,
    );
  }
  const eligible = eligibleShards(env, region);
  if (!eligible.includes(to)) {
    throw validationFailed(
      [
        {
          path: "shard",
          message: region
            ? `an org of region "${region}" may live only on shards ${eligible.join(", ")}`
            : `shard ${to} is declared for a region; this org has none`,
        },
      ],
      `Shard ${to} may not hold this org's data`,
    );
  }
}

const alreadyMoving = () =>
  new DomainError("conflict", "This organisation is already being moved between shards");

/** Copies every table's rows of the org, then checks the counts: the per-table counts. */
async function copy(source: Db, target: Db, orgId: string) {
  const tables: MoveResult["tables"] = [];
  for (const t of MOVED_TABLES) {
    await copyTable(source, target, t, orgId);
    if (t.name === "orgs") {
      await liftQuotas(target, orgId);
    }
  }
  const mismatched: { path: string; message: string }[] = [];
  for (const t of MOVED_TABLES) {
    const [was, is] = await Promise.all([countRows(source, t, orgId), countRows(target, t, orgId)]);
    if (was !== is) {
      mismatched.push({ path: t.name, message: `${was} rows on the old shard, ${is} copied` });
    }
    tables.push({ name: t.name, rows: was });
  }
  if (mismatched.length > 0) {
    throw new DomainError(
      "conflict",
      "The org's rows changed while they were copied; nothing was moved, try again",
      { details: mismatched },
    );
  }
  return tables;
}

async function copyTable(source: Db, target: Db, t: MovedTable, orgId: string) {
  let after: unknown[] | null = null;
  for (;;) {
    const rows = await readPage(source, t, orgId, after);
    await writePage(target, t, rows);
    if (rows.length < MOVE_PAGE_ROWS) {
      return;
    }
    const last = rows[rows.length - 1];
    after = t.key.map((k) => last[k]);
  }
}

/** Deletes the org's rows from a shard, the tables reached through a parent before it. */
async function purge(db: Db, orgId: string) {
  for (const t of [...MOVED_TABLES].reverse()) {
    await deleteRows(db, t, orgId);
  }
}
