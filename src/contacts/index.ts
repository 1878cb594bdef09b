// The contacts wing: people, their fields and subscriptions, what happened to them (history and
// the event store), imports. What other wings use:
export {
  ContactInput,
  type ContactRef,
  contactJson,
  contactSnapshot,
  Email,
  jsonObjectUpTo64KiB,
  notifyContactChange,
  resolveContact,
  resolveContacts,
  saveContact,
  saveContacts,
  TimeZone,
} from "./contacts";
export {
  acceptEvents,
  claimFanouts,
  type EventRow,
  eventsByClientIds,
  eventsByIds,
  finishFanouts,
  overdueFanouts,
  pendingFanoutCount,
} from "./events-store";
export { recordSystemEvent, recordSystemEvents } from "./history";
export { claimStalledChunks } from "./imports-store";
export {
  type ContactRow,
  findContactByPhone,
  getContact,
  getContacts,
  suppressContact,
  unsubscribeContact,
  updateContact,
} from "./store";
