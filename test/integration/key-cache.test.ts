// API keys are served from an isolate cache (src/http/auth.ts): a busy client costs no D1
// round trip, the isolate that revokes a key refuses it at once, and every other isolate
// within KEY_CACHE_SECONDS. Another isolate's revocation is played by changing the key's row
// on its shard directly, which this isolate's cache cannot hear about.
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { config } from "../../src/ground/config";
import { call, expectError, newOrg } from "../helpers/api";
import { DB, dbOf } from "../helpers/db";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function mintKey(key: string) {
  const minted = await call("POST", "/v1/api-keys", { key, body: { name: "cached" } });
  expect(minted.status).toBe(201);
  return minted.json as { id: string; key: string };
}

describe("the API-key cache", () => {
  it("a key revoked through the API is refused at once", async () => {
    const { key } = await newOrg();
    const k = await mintKey(key);
    expect((await call("GET", "/v1/account", { key: k.key })).status).toBe(200);
    expect((await call("POST", `/v1/api-keys/${k.id}/revoke`, { key })).status).toBe(200);
    expectError(await call("GET", "/v1/account", { key: k.key }), 401, "unauthorized");
  });

  it("a key revoked elsewhere stops working within KEY_CACHE_SECONDS, measured", async () => {
    const { key, orgId } = await newOrg();
    const k = await mintKey(key);
    expect((await call("GET", "/v1/account", { key: k.key })).status).toBe(200);
    const revokedAt = Date.now();
    const db = await dbOf(orgId);
    await db.$client
      .prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?")
      .bind(revokedAt, k.id)
      .run();
    // Still served from the cache: this isolate has not read the row since.
    expect((await call("GET", "/v1/account", { key: k.key })).status).toBe(200);
    const bound = config(env).keyCacheMs;
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < bound + 5_000) {
      await sleep(250);
      status = (await call("GET", "/v1/account", { key: k.key })).status;
    }
    const tookMs = Date.now() - revokedAt;
    console.log(`revoked key refused after ${tookMs} ms (bound ${bound} ms)`);
    expect(status).toBe(401);
    expect(tookMs).toBeLessThanOrEqual(bound + 500);
  }, 30_000);

  it("a cached key is checked without reading the directory or its row", async () => {
    const { key } = await newOrg();
    expect((await call("GET", "/v1/account", { key })).status).toBe(200);
    const shard = vi.spyOn(DB, "prepare");
    const directory = vi.spyOn(env.DB_DIRECTORY as unknown as D1Database, "prepare");
    try {
      expect((await call("GET", "/v1/account", { key })).status).toBe(200);
      const keyReads = shard.mock.calls.filter(([sql]) => /from "api_keys"/.test(sql));
      expect(keyReads).toEqual([]);
      expect(directory).not.toHaveBeenCalled();
    } finally {
      shard.mockRestore();
      directory.mockRestore();
    }
  });
});
