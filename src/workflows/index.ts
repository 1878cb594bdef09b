// The workflows wing: definitions and their immutable versions. What other wings use:
export {
  activeWorkflowsTriggeredBy,
  definitionOf,
  getVersion,
  getWorkflow,
  type WorkflowRow,
  workflowNames,
  workflowsExitingOn,
  workflowsWithGoal,
} from "./store";
