// The agents wing: workflow, template and code agents, their gate, executions, model calls and
// lead scoring. What other wings use:
export type { Admission, ExecutionPolicy } from "./rules";
export { claimStalledExecutions, pruneAgentRecords } from "./store";
