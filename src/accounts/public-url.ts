// The origin links in emails point at (tracking, clicks, unsubscribe). PUBLIC_URL when it is
// set; otherwise the origin the API was last called on, remembered in D1 (settings), so a
// fresh deploy with no configuration sends working links once it has served one API request.
import type { Db } from "../db/client";
import { ConfigurationError, config } from "../ground/config";
import type { Env } from "../ground/env";
import { getSetting, putSetting } from "./settings-store";

const KEY = "public_url";
/** This isolate's copy of the remembered origin. */
let learned: string | null = null;

export async function publicUrl(env: Env, db: Db): Promise<string> {
  const set = config(env).publicUrl;
  if (set) {
    return set;
  }
  learned ??= await getSetting(db, KEY);
  if (!learned) {
    throw new ConfigurationError(
      "PUBLIC_URL is not set and no API request has reached this deployment yet; set PUBLIC_URL to the Worker's origin",
    );
  }
  return learned;
}

/** After an API request: remembers its origin when PUBLIC_URL is unset (a write only when it changes). */
export async function rememberOrigin(env: Env, db: Db, origin: string): Promise<void> {
  if (config(env).publicUrl || learned === origin) {
    return;
  }
  learned = origin;
  await putSetting(db, KEY, origin);
}
