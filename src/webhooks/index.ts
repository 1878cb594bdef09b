// The webhooks wing: outbound events to the org's endpoints, signed, retried, recorded. What
// other wings use:
export { newWebhookSecret, outboundEvent, publish, subscriptionsOf, wants } from "./outbound";
export { claimOverdueDeliveries } from "./store";
