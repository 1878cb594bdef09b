// Consumers confirm the effects they received from enrollment objects, so those objects stop
// re-sending them. A failed confirmation is only logged: the object re-sends, and every
// consumer is idempotent by effect key.
import { enrollmentStub } from "../enrollments";
import type { Env } from "../env";

export async function confirmEffects(env: Env, acks: { enrollmentId: string; key: string }[]) {
  const byEnrollment = new Map<string, string[]>();
  for (const a of acks) byEnrollment.set(a.enrollmentId, [...(byEnrollment.get(a.enrollmentId) ?? []), a.key]);
  await Promise.all(
    [...byEnrollment].map(([id, keys]) =>
      enrollmentStub(env, id)
        .ackEffects(keys)
        .catch((err) => console.error(JSON.stringify({ level: "warn", msg: "effect confirmation failed", enrollmentId: id, error: String(err) }))),
    ),
  );
}
