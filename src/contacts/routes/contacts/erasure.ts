// Erasure (DELETE /v1/contacts/:id): the contact's active enrollments are cancelled, its
// personal data is erased from every D1 table that copied it, and each of its enrollment
// objects forgets it too.
import type { Db } from "../../../db/client";
import {
  activeEnrollmentIds,
  cancelAll,
  enrollmentStub,
  listEnrollments,
} from "../../../enrollments";
import type { Env } from "../../../ground/env";
import { type ContactRow, eraseContact } from "../../store";

export async function eraseContactEverywhere(env: Env, db: Db, contact: ContactRow) {
  await cancelAll(
    env,
    db,
    await activeEnrollmentIds(db, { contactId: contact.id }),
    "contact_deleted",
  );
  await eraseContact(db, contact.orgId, contact.id);
  let before: string | undefined;
  for (;;) {
    const page = await listEnrollments(db, contact.orgId, { contactId: contact.id }, 100, before);
    const ids = page.slice(0, 100).map((e) => e.id);
    for (let i = 0; i < ids.length; i += 20) {
      await Promise.all(ids.slice(i, i + 20).map((id) => enrollmentStub(env, id).forgetContact()));
    }
    if (page.length <= 100) {
      return;
    }
    before = ids[ids.length - 1];
  }
}
