// Workflow agents: the execution's contact (checked as POST /v1/enrollments checks one) is
// enrolled in the agent's workflow, under an enrollment id seeded from the execution so a
// re-run finds its own enrollment.

import { ContactInput, type ContactRow, resolveContact, saveContact } from "../contacts";
import { regionOf } from "../db/shards";
import { type EnrollOutcome, enroll, enrollmentStub } from "../enrollments";
import { DomainError } from "../ground/errors";
import { seededId } from "../ground/ids";
import type { Logger } from "../ground/log";
import { getWorkflow } from "../workflows";
import { ExecutionFailure, type Run } from "./run";

export async function enrollFor(run: Run, log: Logger) {
  const { env, db, execution, agent } = run;
  const input = execution.input;
  const workflow = agent.workflowId ? await getWorkflow(db, agent.orgId, agent.workflowId) : null;
  if (!workflow) {
    throw new ExecutionFailure("not_found", "The agent's workflow was deleted");
  }
  let contact: ContactRow;
  try {
    if (typeof input.contactId === "string") {
      contact = await resolveContact(env, db, agent.orgId, { id: input.contactId });
    } else if (input.contact && typeof input.contact === "object") {
      // Checked as POST /v1/enrollments checks its `contact`: never stored unchecked.
      const fields = ContactInput.safeParse(input.contact);
      if (!fields.success) {
        throw new ExecutionFailure(
          "validation_failed",
          `input.contact is not a usable contact: ${fields.error.issues.map((i) => `${["contact", ...i.path].join(".")}: ${i.message}`).join("; ")}`,
        );
      }
      contact = (await saveContact(env, db, agent.orgId, fields.data)).contact;
    } else {
      throw new ExecutionFailure(
        "validation_failed",
        "A workflow agent's input needs `contact` (fields, with an email, phone or externalId) or `contactId`",
      );
    }
  } catch (err) {
    if (err instanceof ExecutionFailure) {
      throw err;
    }
    throw new ExecutionFailure(
      err instanceof DomainError ? err.code : "validation_failed",
      `The contact could not be resolved: ${(err as Error).message}`,
    );
  }
  // The enrollment's id derives from the execution's: a run taken up again finds its own
  // (marked with the org's region as enroll marks it, so it names the same object).
  const id = await seededId(
    "enr",
    execution.createdAt,
    execution.id,
    await regionOf(env, agent.orgId),
  );
  const variables =
    input.variables && typeof input.variables === "object"
      ? (input.variables as Record<string, unknown>)
      : {};
  let r: EnrollOutcome;
  try {
    r = await enroll(env, db, { workflow, contact, variables, id }, log);
  } catch (err) {
    throw new ExecutionFailure(
      err instanceof DomainError ? err.code : "internal_error",
      (err as Error).message,
    );
  }
  if (!r.ok) {
    // Our own id's object holds an enrollment: an earlier attempt made it, whether it still
    // runs (already_enrolled) or has ended (reentry_not_allowed names it as the one before).
    const existing = await enrollmentStub(env, id).snapshot();
    if ((r.code === "already_enrolled" || r.code === "reentry_not_allowed") && existing) {
      run.log("info", `Enrollment ${id} was created by an earlier attempt`);
      return { enrollmentId: id, contactId: contact.id, workflowId: workflow.id };
    }
    throw new ExecutionFailure(r.code, r.message);
  }
  run.log("info", `Enrolled contact ${contact.id} in workflow ${workflow.id}: ${r.enrollment.id}`);
  return { enrollmentId: r.enrollment.id, contactId: contact.id, workflowId: workflow.id };
}
