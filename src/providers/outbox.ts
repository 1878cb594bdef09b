// The built-in outbox: where email goes when no provider is connected (GET /v1/outbox).
import { database } from "../db/client";
import { captureInOutbox } from "../db/outbox";
import { newId } from "../ground/ids";
import { defineProvider } from "./provider";

export default defineProvider({
  name: "outbox",
  requiredCredentials: [],
  async send(email, { env, orgId }) {
    const id = newId("obx");
    await captureInOutbox(database(env.DB), {
      id,
      orgId,
      messageId: email.messageId,
      to: email.to,
      from: email.from,
      subject: email.subject,
      html: email.html ?? "",
      text: email.text,
      // The Reply-To the provider would be given, shown with the other headers.
      headers: email.replyTo ? { ...email.headers, "Reply-To": email.replyTo } : email.headers,
      createdAt: Date.now(),
    });
    return { providerMessageId: id };
  },
});
