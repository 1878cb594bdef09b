// What the outreach tests share: enrolling a contact, the outbox of one channel, waiting for an
// enrollment, and the sales sequence of the issue (email, delay, call, SMS, task).
import { call, poll } from "./api";
import { enrollment } from "./enrollments";

export async function enroll(key: string, workflowId: string, contact: object, extra: object = {}) {
  return call("POST", "/v1/enrollments", { key, body: { workflowId, contact, ...extra } });
}

export const outbox = async (key: string, channel: string, to?: string) =>
  (
    await call("GET", `/v1/outbox?channel=${channel}${to ? `&to=${encodeURIComponent(to)}` : ""}`, {
      key,
    })
  ).json.data as {
    id: string;
    channel: string;
    to: string;
    text: string;
    outcome: string | null;
    messageId: string;
  }[];

export const waitFor = (key: string, id: string, until: (e: any) => boolean) =>
  poll(() => enrollment(key, id), until);
