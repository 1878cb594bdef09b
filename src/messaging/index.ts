// The messaging wing: email, SMS, calls and tasks — composing, sending under the org's policy
// and each mailbox's limits, provider callbacks, inbound mail and replies, preferences, the
// development capture of what would be sent (GET /v1/outbox). What other wings use:
export {
  type ConnectionRow,
  firstConnectionOf,
  getConnection,
  getConnectionById,
} from "./connections-store";
export { applyDeliveryEvents } from "./deliveries";
export { handleIncomingEmail, parseRawMail } from "./inbound-mail";
export { claimSignatureNonce, pruneInboundSeen, unmatchedMail } from "./inbound-store";
export { applyPhoneEvents } from "./outreach";
export {
  confirmSubscription,
  requestConfirmation,
  savePreferences,
  sendConfirmation,
  unsubscribeFromTopic,
} from "./preferences";
export { type ReceivedMail, receiveMail } from "./replies";
export { loadSender } from "./senders";
export { claimCapSlots, sendingPolicyOf } from "./sending";
export { pruneSlots, releaseSlots } from "./sending-store";
export {
  addEngagement,
  claimOverdueMessages,
  type Engagement,
  emailStatsByStep,
  getMessageById,
  type MessageRow,
  messagesByIds,
  messagesOfEnrollment,
  phoneStatsByStep,
  settleMessage,
} from "./store";
export { expireTasks, taskStatsByStep } from "./tasks-store";
export { existingTemplateIds, getTemplate } from "./templates-store";
