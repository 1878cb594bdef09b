// The origin links in emails point at (tracking, clicks, unsubscribe, preferences, reports).
// PUBLIC_URL when it is set. Otherwise each org's own: the origin of its latest API request,
// kept on its row, so one org calling the API on another hostname never changes another org's
// links. Outside development, learning one logs a warning: a deployment serving many orgs
// should set PUBLIC_URL rather than trust the Host of requests.
import type { Db } from "../db/client";
import { ConfigurationError, config } from "../ground/config";
import type { Env } from "../ground/env";
import type { Logger } from "../ground/log";
import { getOrgPublicUrl, getSetting, setOrgPublicUrl } from "./settings-store";

/**
 * The deployment-wide origin learned before origins were kept per org: the links of an org
 * that has made no API request since still use it. Read, never written any more.
 */
const LEGACY_KEY = "public_url";

/**
 * This isolate's copy of each org's origin, for a while: another isolate may have learned a
 * newer one, and a copy this old is read again. Bounded.
 */
const FRESH_MS = 5 * 60_000;
const MAX_ORGS = 1_000;
const known = new Map<string, { origin: string; at: number }>();

function remember(orgId: string, origin: string, now: number) {
  if (known.size >= MAX_ORGS && !known.has(orgId)) {
    known.clear();
  }
  known.set(orgId, { origin, at: now });
}

/** The stored origin of the org's links (this isolate's copy while it is fresh). */
async function storedOrigin(db: Db, orgId: string, now: number): Promise<string | null> {
  const hit = known.get(orgId);
  if (hit && now - hit.at < FRESH_MS) {
    return hit.origin;
  }
  const origin = await getOrgPublicUrl(db, orgId);
  if (origin) {
    remember(orgId, origin, now);
  }
  return origin;
}

export async function publicUrl(env: Env, db: Db, orgId: string): Promise<string> {
  const set = config(env).publicUrl;
  if (set) {
    return set;
  }
  const origin = (await storedOrigin(db, orgId, Date.now())) ?? (await getSetting(db, LEGACY_KEY));
  if (!origin) {
    throw new ConfigurationError(
      "PUBLIC_URL is not set and this org has made no API request yet; set PUBLIC_URL to the Worker's origin",
    );
  }
  return origin;
}

/**
 * After one of the org's API requests, with PUBLIC_URL unset: its origin becomes the org's
 * (written only when it changes). Outside development, a change is logged as a warning.
 */
export async function rememberOrigin(
  env: Env,
  db: Db,
  orgId: string,
  origin: string,
  log: Logger,
): Promise<void> {
  const cfg = config(env);
  if (cfg.publicUrl) {
    return;
  }
  const now = Date.now();
  const before = await storedOrigin(db, orgId, now);
  if (before === origin) {
    return;
  }
  remember(orgId, origin, now);
  await setOrgPublicUrl(db, orgId, origin);
  if (!cfg.development) {
    log.warn("PUBLIC_URL is not set: this org's links now use the origin of its API requests", {
      orgId,
      origin,
      previous: before,
    });
  }
}
