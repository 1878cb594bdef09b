// Org shards. Every org's rows live in one of N D1 databases (DB_SHARD_0…, N = SHARDS); a
// small directory database (DB_DIRECTORY) says which one, and who owns the names that arrive
// without an org (an API key's hash, a connection id in an inbound webhook's URL).
//
// The one way to an org's database is to name the org: `shardFor(env, orgId)`. Work that spans
// orgs — the watchdog, admin reads, received mail that names no org — asks for `everyShard`
// and fans out. Env types the bindings as opaque, so a raw binding does not compile anywhere
// else. Placements are cached in the isolate for PLACEMENT_TTL_MS: they change only when an org
// moves, and a move waits that long after marking the org moving before it copies a row.
//
// Read replicas: inside a request (`inD1Sessions`), every org database is a D1 session, so the
// response can carry the session's bookmark (`x-d1-bookmark`) and a later request can ask to
// read at least that far. Writing paths take `shardFor`: a "first-primary" session, which
// reads what it writes. Reads that tolerate lag (lists, analytics) take `readShardFor`: a
// session anchored at the client's bookmark, or anywhere ("first-unconstrained") without one.
import { AsyncLocalStorage } from "node:async_hooks";
import { and, count, eq, inArray, isNull } from "drizzle-orm";
import { ConfigurationError, config, type Region } from "../ground/config";
import type { Env } from "../ground/env";
import { DomainError } from "../ground/errors";
import { type Db, type DirectoryDb, database, directoryDatabase } from "./client";
import { orgPlacements, owners } from "./directory-schema";

export type { Db } from "./client";

/** How long an isolate trusts a placement it read (a move waits this out; scripts/shards.mjs). */
export const PLACEMENT_TTL_MS = 10_000;

export interface Placement {
  shard: number;
  region: Region | null;
  /** Set while the org is being moved to another shard: its work waits. */
  movingSince: number | null;
}

type OwnerKind = (typeof owners.$inferSelect)["kind"];

const cached = new Map<string, { placement: Placement | null; at: number }>();

/** One request's D1 sessions: the bookmark it arrived with, and the sessions it opened. */
export interface D1Sessions {
  readonly bookmark: string | null;
  readonly opened: Map<string, { session: D1DatabaseSession; db: Db }>;
  /** The session that ran a query last: its bookmark is the newest this request knows. */
  last: D1DatabaseSession | null;
}
const sessions = new AsyncLocalStorage<D1Sessions>();

/** Runs `fn` (a request) with its org databases as D1 sessions; see `latestBookmark`. */
export function inD1Sessions<T>(bookmark: string | null, fn: (scope: D1Sessions) => T): T {
  const scope: D1Sessions = { bookmark, opened: new Map(), last: null };
  return sessions.run(scope, () => fn(scope));
}

/** The newest bookmark of the sessions a request used (null: it ran no org query). */
export function latestBookmark(scope: D1Sessions): string | null {
  return scope.last?.getBookmark() ?? null;
}

/**
 * Shard `index` as a session of the current request, opened once per request and anchor (the
 * primary for writing paths, the bookmark or anywhere for lag-tolerant reads); null outside a
 * request, where the plain binding serves.
 */
function sessionOf(env: Env, index: number, anchor: "primary" | "replica"): Db | null {
  const scope = sessions.getStore();
  if (!scope) {
    return null;
  }
  const key = `${index}:${anchor}`;
  const open = scope.opened.get(key);
  if (open) {
    return open.db;
  }
  const binding = shardBinding(env, index) as unknown as D1Database;
  const session = binding.withSession(
    anchor === "primary" ? "first-primary" : (scope.bookmark ?? "first-unconstrained"),
  );
  // drizzle needs only prepare and batch, which a session has (it lacks exec and dump, which
  // drizzle's d1 driver never calls); every query notes the session as the request's newest.
  const tracked = {
    prepare: (query: string) => {
      scope.last = session;
      return session.prepare(query);
    },
    batch: (statements: D1PreparedStatement[]) => {
      scope.last = session;
      return session.batch(statements);
    },
  } as unknown as D1Database;
  const db = database(tracked);
  scope.opened.set(key, { session, db });
  return db;
}
const opened = new WeakMap<object, Db>();
const openedDirectory = new WeakMap<object, DirectoryDb>();

/** The directory database. */
export function directory(env: Env): DirectoryDb {
  const binding = env.DB_DIRECTORY;
  if (!binding) {
    throw new ConfigurationError("DB_DIRECTORY is not bound (wrangler.toml [[d1_databases]])");
  }
  let db = openedDirectory.get(binding);
  if (!db) {
    db = directoryDatabase(binding as unknown as D1Database);
    openedDirectory.set(binding, db);
  }
  return db;
}

/** Shard `index`'s database: for the move tool and fan-outs, never for one org's work. */
export function shardAt(env: Env, index: number): Db {
  const binding = shardBinding(env, index);
  let db = opened.get(binding);
  if (!db) {
    db = database(binding as unknown as D1Database);
    opened.set(binding, db);
  }
  return db;
}

function shardBinding(env: Env, index: number) {
  const n = config(env).shards;
  const binding = index < n ? env[`DB_SHARD_${index}`] : undefined;
  if (!binding) {
    throw new ConfigurationError(
      index < n
        ? `SHARDS is ${n} but DB_SHARD_${index} is not bound (wrangler.toml [[d1_databases]])`
        : `There is no shard ${index}: SHARDS is ${n}`,
    );
  }
  return binding;
}

/** Every shard's database, in index order: for work that spans orgs (fan out, then merge). */
export function everyShard(env: Env): Db[] {
  return Array.from({ length: config(env).shards }, (_, i) => shardAt(env, i));
}

/** Runs `read` on every shard at once and concatenates what they return. */
export async function acrossShards<T>(env: Env, read: (db: Db) => Promise<T[]>): Promise<T[]> {
  return (await Promise.all(everyShard(env).map(read))).flat();
}

/** Where the org lives (null: no such org), from the isolate's cache or the directory. */
export async function placementOf(env: Env, orgId: string, now = Date.now()) {
  const hit = cached.get(orgId);
  if (hit && now - hit.at < PLACEMENT_TTL_MS) {
    return hit.placement;
  }
  const row = await directory(env)
    .select()
    .from(orgPlacements)
    .where(eq(orgPlacements.orgId, orgId))
    .get();
  const placement = row
    ? { shard: row.shard, region: row.region as Region | null, movingSince: row.movingSince }
    : await adoptUnplaced(env, orgId, now);
  cached.set(orgId, { placement, at: now });
  return placement;
}

/**
 * The jurisdiction the org's data is kept in (null: none, or no such org). Ids that name its
 * Durable Objects are minted with it (markRegion in src/ground/ids.ts).
 */
export const regionOf = async (env: Env, orgId: string) =>
  (await placementOf(env, orgId))?.region ?? null;

/**
 * An org the directory does not know but a shard holds (made before the directory, or by a
 * tool that wrote only the shard): found by asking every shard, then written down.
 */
async function adoptUnplaced(env: Env, orgId: string, now: number): Promise<Placement | null> {
  const shards = everyShard(env);
  const found = await Promise.all(
    shards.map((db) =>
      db.query.orgs.findFirst({ columns: { id: true }, where: (o, { eq }) => eq(o.id, orgId) }),
    ),
  );
  const shard = found.findIndex(Boolean);
  if (shard < 0) {
    return null;
  }
  const region = config(env).shardRegions[shard] ?? null;
  await directory(env)
    .insert(orgPlacements)
    .values({ orgId, shard, region, movingSince: null, createdAt: now })
    .onConflictDoNothing()
    .run();
  return { shard, region, movingSince: null };
}

/**
 * The org's database: the only way to one. Refuses an org no shard holds (404) and one being
 * moved (503 with Retry-After: its requests are retried, its alarms and jobs run again).
 */
export async function shardFor(env: Env, orgId: string): Promise<Db> {
  const shard = await placedShard(env, orgId);
  return sessionOf(env, shard, "primary") ?? shardAt(env, shard);
}

/**
 * The org's database for reads that tolerate replica lag (lists, analytics): in a request, a
 * session starting at the client's bookmark (so it reads its own writes) or, without one, at
 * whichever replica answers first. Never for a path that reads what it has just written.
 */
export async function readShardFor(env: Env, orgId: string): Promise<Db> {
  const shard = await placedShard(env, orgId);
  return sessionOf(env, shard, "replica") ?? shardAt(env, shard);
}

async function placedShard(env: Env, orgId: string): Promise<number> {
  // A job queued before jobs named their org carries none: no shard can be told from it.
  const placement = orgId ? await placementOf(env, orgId) : null;
  if (!placement) {
    throw new DomainError("not_found", "Organisation not found");
  }
  if (placement.movingSince != null) {
    throw new DomainError(
      "service_unavailable",
      "This organisation's data is being moved between databases; retry in a few seconds",
      { headers: { "Retry-After": "5" } },
    );
  }
  return placement.shard;
}

/** Forgets what this isolate cached about the org (after moving it). */
export function forgetPlacement(orgId: string) {
  cached.delete(orgId);
}

/** The shards an org of `region` may be placed on (no region: the shards without one). */
export function eligibleShards(env: Env, region: Region | null): number[] {
  const { shards, shardRegions } = config(env);
  const all = Array.from({ length: shards }, (_, i) => i);
  const fit = all.filter((i) => (shardRegions[i] ?? null) === region);
  if (fit.length === 0 && region) {
    throw new DomainError(
      "validation_failed",
      `No shard holds data in region "${region}" on this deployment`,
      {
        details: [
          { path: "region", message: `no shard is declared for "${region}" (SHARD_REGIONS)` },
        ],
      },
    );
  }
  // With no unbound shard (every shard has a region), an org without one may go anywhere.
  return fit.length > 0 ? fit : all;
}

/**
 * Places a new org on the least-filled shard it may live on (by orgs placed; ties to the
 * lowest index) and records it in the directory, before any of its rows are written.
 */
export async function placeOrg(
  env: Env,
  orgId: string,
  region: Region | null,
  now = Date.now(),
): Promise<{ shard: number; db: Db }> {
  const candidates = eligibleShards(env, region);
  const dir = directory(env);
  const fill = await dir
    .select({ shard: orgPlacements.shard, orgs: count() })
    .from(orgPlacements)
    .where(inArray(orgPlacements.shard, candidates))
    .groupBy(orgPlacements.shard)
    .all();
  const orgsOn = new Map(fill.map((f) => [f.shard, f.orgs]));
  const shard = candidates.reduce((best, i) =>
    (orgsOn.get(i) ?? 0) < (orgsOn.get(best) ?? 0) ? i : best,
  );
  const placed = config(env).shardRegions[shard] ?? null;
  await dir
    .insert(orgPlacements)
    .values({ orgId, shard, region: placed, movingSince: null, createdAt: now })
    .run();
  cached.set(orgId, { placement: { shard, region: placed, movingSince: null }, at: now });
  return { shard, db: shardAt(env, shard) };
}

/** Every placement (admin: the shards' fill). */
export const listPlacements = (env: Env) => directory(env).select().from(orgPlacements).all();

/** Marks the org as moving (its work waits) or not; the move tool's first and last steps. */
export async function setMoving(env: Env, orgId: string, since: number | null) {
  await directory(env)
    .update(orgPlacements)
    .set({ movingSince: since })
    .where(eq(orgPlacements.orgId, orgId))
    .run();
  forgetPlacement(orgId);
}

/**
 * Marks the org as moving unless it already is, in one conditional statement, so two moves
 * of one org cannot both start: true when this call started it.
 */
export async function claimMove(env: Env, orgId: string, since: number): Promise<boolean> {
  const { meta } = await directory(env)
    .update(orgPlacements)
    .set({ movingSince: since })
    .where(and(eq(orgPlacements.orgId, orgId), isNull(orgPlacements.movingSince)))
    .run();
  forgetPlacement(orgId);
  return meta.changes === 1;
}

/** Points the org at its new shard and ends the move, in one statement. */
export async function switchShard(env: Env, orgId: string, shard: number) {
  await directory(env)
    .update(orgPlacements)
    .set({ shard, region: config(env).shardRegions[shard] ?? null, movingSince: null })
    .where(eq(orgPlacements.orgId, orgId))
    .run();
  forgetPlacement(orgId);
}

/** Records who owns a name that arrives without its org (written before the org's own row). */
export async function recordOwner(env: Env, kind: OwnerKind, name: string, orgId: string) {
  await directory(env).insert(owners).values({ kind, name, orgId }).onConflictDoNothing().run();
}

export async function forgetOwner(env: Env, kind: OwnerKind, name: string) {
  await directory(env)
    .delete(owners)
    .where(and(eq(owners.kind, kind), eq(owners.name, name)))
    .run();
}

/**
 * The org that owns `name`, from the directory; a name it does not know (made before it) is
 * looked for on every shard by `find`, and written down when found.
 */
export async function ownerOf(
  env: Env,
  kind: OwnerKind,
  name: string,
  find: (db: Db) => Promise<string | undefined>,
): Promise<string | undefined> {
  const row = await directory(env)
    .select({ orgId: owners.orgId })
    .from(owners)
    .where(and(eq(owners.kind, kind), eq(owners.name, name)))
    .get();
  if (row) {
    return row.orgId;
  }
  const found = (await Promise.all(everyShard(env).map(find))).find(Boolean);
  if (found) {
    await recordOwner(env, kind, name, found);
  }
  return found;
}

/** Orgs placed on a shard and not being moved (admin listings, the balance figure). */
export const orgsOnShard = (env: Env, shard: number) =>
  directory(env)
    .select({ orgId: orgPlacements.orgId })
    .from(orgPlacements)
    .where(and(eq(orgPlacements.shard, shard), isNull(orgPlacements.movingSince)))
    .all();

/** `items` grouped by the org each names, in first-seen order. */
export function groupByOrg<T>(items: Iterable<T>, orgOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const orgId = orgOf(item);
    const group = groups.get(orgId);
    if (group) {
      group.push(item);
    } else {
      groups.set(orgId, [item]);
    }
  }
  return groups;
}

/**
 * Runs `work` once for each org named in `items`, with that org's shard and its items, all
 * orgs at once; the first failure fails the whole (callers retry what they were given).
 */
export async function perOrg<T>(
  env: Env,
  items: Iterable<T>,
  orgOf: (item: T) => string,
  work: (db: Db, items: T[], orgId: string) => Promise<unknown>,
): Promise<void> {
  await Promise.all(
    [...groupByOrg(items, orgOf)].map(async ([orgId, own]) =>
      work(await shardFor(env, orgId), own, orgId),
    ),
  );
}
