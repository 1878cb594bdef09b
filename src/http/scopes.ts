// What an API key may do. `full` keys do everything; `send` keys — for the services that add
// contacts, track events and enroll — may read everything except keys, connections and
// webhooks, and write only contacts, events, enrollments and imports, complete tasks and run
// agents (plus the two dry runs: template preview and workflow test, which change nothing).
import type { KeyScope } from "../ground/scopes";

/** Resources only a full key may touch at all, reads included (they hold or mint secrets). */
const FULL_ONLY = /^\/v1\/(api-keys|connections|webhooks)(\/|$)/;
/** What a send key may write. */
const SEND_WRITES = [
  /^\/v1\/(contacts|events|enrollments|imports)(\/|$)/,
  // Reps' tools complete the tasks steps hand them.
  /^\/v1\/tasks\/[^/]+\/(complete|skip)$/,
  // Running an agent for a lead is like enrolling it; deploying or changing agents is not.
  /^\/v1\/agents\/[^/]+\/(execute|inference|score_lead)$/,
  /^\/v1\/templates\/[^/]+\/preview$/,
  /^\/v1\/workflows\/[^/]+\/test$/,
  // The MCP endpoint: each tool calls the API with the same key, so its scope applies there.
  /^\/mcp$/,
];

const RANK: Record<KeyScope, number> = { send: 0, full: 1 };

/** True when a key of `scope` may make this request. */
export function scopeAllows(scope: KeyScope, method: string, path: string): boolean {
  if (scope === "full") {
    return true;
  }
  if (FULL_ONLY.test(path)) {
    return false;
  }
  if (method === "GET" || method === "HEAD") {
    return true;
  }
  return SEND_WRITES.some((p) => p.test(path));
}

/** True when `child` grants nothing `parent` does not. */
export const scopeWithin = (child: KeyScope, parent: KeyScope) => RANK[child] <= RANK[parent];
