// Step builders and small calls the enrollment flow tests share: a log, an email and a delay
// step, enrolling a contact, and reading the outbox for one address.
import { call } from "./api";

export const log = (message: string, id?: string) => ({
  ...(id ? { id } : {}),
  type: "log",
  config: { message },
});

export const mail = (subject: string, id?: string) => ({
  ...(id ? { id } : {}),
  type: "send_email",
  config: { subject, html: `<p>${subject} <a href="https://example.com/x">link</a></p>` },
});

export const delay = (seconds: number, id?: string) => ({
  ...(id ? { id } : {}),
  type: "delay",
  config: { amount: seconds, unit: "seconds" },
});

export async function enroll(
  key: string,
  workflowId: string,
  contact: Record<string, unknown> = { email: `c${Math.random()}@x.co` },
  extra: Record<string, unknown> = {},
) {
  return call("POST", "/v1/enrollments", { key, body: { workflowId, contact, ...extra } });
}

export const outboxFor = async (key: string, to: string) =>
  (await call("GET", `/v1/outbox?to=${encodeURIComponent(to)}`, { key })).json.data as {
    subject: string;
  }[];
