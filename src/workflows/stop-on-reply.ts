// Stop-on-reply, the one definition: a workflow stops on a human reply when it is set to, or,
// left unset, when it sends two or more emails. The rule is declared once below and rendered
// twice from that declaration: in TypeScript for the effective setting a workflow shows, and in
// SQL for the D1 query of the workflows a reply ends (workflowsExitingOn), so a reply does not
// load every workflow of its org to decide.
import { sql } from "drizzle-orm";
import { workflows } from "../db/schema";
import type { StepDef } from "../engine/types";

/** Unset, a workflow stops on a reply when it has at least `atLeast` steps of `stepType`. */
const BY_DEFAULT = { stepType: "send_email", atLeast: 2 } as const;

type Setting = Pick<typeof workflows.$inferSelect, "stopOnReply" | "steps">;

export function stopsOnReply(w: Setting): boolean {
  const counted = (w.steps as StepDef[]).filter((s) => s.type === BY_DEFAULT.stepType).length;
  return w.stopOnReply ?? counted >= BY_DEFAULT.atLeast;
}

/** stopsOnReply as a condition on a row of `workflows`. */
export const stopsOnReplySql = sql`(${workflows.stopOnReply} = 1 or (${workflows.stopOnReply} is null and (select count(*) from json_each(${workflows.steps}) where json_extract(value, '$.type') = ${BY_DEFAULT.stepType}) >= ${BY_DEFAULT.atLeast}))`;
