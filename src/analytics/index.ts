// The analytics wing: facts counted where they happen, daily rollups, metrics reads and reports.
// What other wings use:
export {
  type EnrollmentFact,
  enrollmentCountStatements,
  type Fact,
  factBatch,
  forgetZone,
  messageFact,
  ownedFactStatements,
  recordFacts,
} from "./facts";
export { fileOf, tickReports } from "./reports";
export { getReport } from "./reports-store";
export { pruneFacts, reportingZone, setReportingZone, stepTotals } from "./store";
