// The enrollments wing: the engine's host. One Durable Object per enrollment (object/), the D1
// mirror, chains, the enrollment API. What other wings use:
export { handOverChain } from "./chains";
export {
  cancelAll,
  cancelWorkflowEnrollments,
  confirmEffects,
  type EnrollOutcome,
  enroll,
  enrollmentStub,
  snapshotOf,
  startPayloadFromD1,
} from "./enrollments";
export {
  activeCounts,
  activeEnrollmentIds,
  cancelReservation,
  contactEnrollmentsIn,
  countActiveEnrollments,
  enrollmentsAwaiting,
  enrollmentsAwaitingAny,
  listEnrollments,
  overdueEnrollments,
  stalledChainLinks,
} from "./store";
