// Reaching a Durable Object by name, in its org's jurisdiction. An org created with a region
// keeps its objects there (Cloudflare's `namespace.jurisdiction(region)`); its objects are named
// by ids that carry the region's mark (src/ground/ids.ts), so the enrollment, mailbox or gate
// is found from the id alone, wherever the caller got it (a queue job, a D1 row, a URL).
import { config, type Region } from "./config";
import type { Env } from "./env";
import { regionOfId } from "./ids";

/** What workerd (wrangler dev, the tests) answers to `jurisdiction()`: it has only this machine. */
const NO_JURISDICTIONS_HERE = /Jurisdiction restrictions are not implemented in workerd/;

/** The namespace's part in the region's jurisdiction (the namespace itself without a region). */
export function inJurisdiction<T extends Rpc.DurableObjectBranded | undefined>(
  env: Env,
  namespace: DurableObjectNamespace<T>,
  region: Region | null,
): DurableObjectNamespace<T> {
  if (!region) {
    return namespace;
  }
  try {
    return namespace.jurisdiction(region);
  } catch (err) {
    // Local workerd cannot create jurisdictional ids: outside production the object stays on
    // this machine, where every local object lives anyway, and the jurisdiction it would have
    // is recorded by its org's placement (the directory) and its id's mark. In production a
    // runtime that cannot honour the region must fail loudly, never place the object elsewhere.
    if (config(env).environment !== "production" && NO_JURISDICTIONS_HERE.test(String(err))) {
      return namespace;
    }
    throw err;
  }
}

/** The object named `name` (an id, or a name ending in one), in the jurisdiction its mark names. */
export function objectNamed<T extends Rpc.DurableObjectBranded | undefined>(
  env: Env,
  namespace: DurableObjectNamespace<T>,
  name: string,
): DurableObjectStub<T> {
  const ns = inJurisdiction(env, namespace, regionOfId(name));
  return ns.get(ns.idFromName(name));
}
