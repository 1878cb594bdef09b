import { activeWorkflow, call, newOrg, poll } from "./api";
import { rawShard } from "./db";
import { settle } from "./enrollments";

/** Sends an email through the outbox for a fresh contact and returns its tracking links. */
export async function sentEmail(opts: { steps?: unknown[] } = {}) {
  const { key, orgId } = await newOrg();
  const w = await activeWorkflow(
    key,
    opts.steps ?? [
      {
        id: "m",
        type: "send_email",
        config: {
          subject: "Hi",
          html: '<p><a href="https://acme.test/pricing?a=1">Pricing</a></p>',
        },
      },
      { id: "w", type: "wait_for_event", config: { eventName: "email.opened", timeout: 86400 } },
    ],
  );
  const e = (
    await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: w.id, contact: { email: `edge${Math.random()}@x.co` } },
    })
  ).json;
  await settle(key, e.id);
  const out = await poll(
    async () => (await call("GET", "/v1/outbox", { key })).json.data,
    (d) => d.length === 1,
  );
  const html: string = out[0].html;
  const pixel = /src="https:\/\/nudge\.test(\/t\/o\/[^"]+)"/.exec(html)?.[1] as string;
  const click = /href="https:\/\/nudge\.test(\/t\/c\/[^"]+)"/.exec(html)?.[1] as string;
  const unsubscribe = /<https:\/\/nudge\.test(\/t\/u\/[^>]+)>/.exec(
    out[0].headers["List-Unsubscribe"],
  )?.[1] as string;
  const messageId: string = out[0].messageId;
  return {
    key,
    orgId,
    enrollmentId: e.id as string,
    contactId: e.contactId as string,
    pixel,
    click,
    unsubscribe,
    messageId,
  };
}

export const message = async (key: string, id: string) =>
  (await call("GET", `/v1/messages/${id}`, { key })).json;

/**
 * Moves a message's send time back, so a click is not "within seconds of sending" (on every
 * shard: only the org's holds the row).
 */
export async function sentAgo(ms: number, id: string) {
  for (let i = 0, db = rawShard(0); db; db = rawShard(++i)) {
    await db
      .prepare("UPDATE messages SET sent_at = ? WHERE id = ?")
      .bind(Date.now() - ms, id)
      .run();
  }
}

export function tamper(token: string) {
  const [kid, body, sig] = token.split(".");
  const payload = JSON.parse(atob(body.replace(/-/g, "+").replace(/_/g, "/")));
  payload.u = "https://evil.test/";
  const forged = btoa(JSON.stringify(payload))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
  return `${kid}.${forged}.${sig}`;
}
