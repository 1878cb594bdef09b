// The SDK quickstart: create a workflow, dry-run it, activate it, enroll two contacts, read
// the enrollment and its log. Run against a Nudge (e.g. `npm start`):
//   NUDGE_BASE_URL=http://localhost:8787 NUDGE_API_KEY=$(cat .nudge-dev-key) npx tsx sdk/examples/quickstart.ts
import { Nudge, NudgeError } from "../src/index";

declare const process: { env: Record<string, string | undefined>; exitCode?: number };

const client = new Nudge({
  apiKey: process.env.NUDGE_API_KEY ?? "",
  baseUrl: process.env.NUDGE_BASE_URL ?? "http://localhost:8787",
});

const workflow = await client.workflows.create({
  name: "Welcome (SDK quickstart)",
  steps: [
    { id: "hello", type: "log", config: { message: "Hello {{ contact.firstName }}" } },
    { id: "wait", type: "delay", config: { amount: 1, unit: "seconds" } },
    { id: "bye", type: "log", config: { message: "Bye {{ contact.firstName }}" } },
  ],
});
console.log(`workflow ${workflow.id} (${workflow.status})`);

const trace = await client.workflows.test(workflow.id, { sampleData: { firstName: "Ada" } });
console.log(`dry run: ${trace.trace.map((s) => s.message).join(" · ")} → ${trace.finalStatus}`);
await client.workflows.activate(workflow.id);

const ada = await client.contacts.upsert({
  email: `ada+${Date.now()}@example.com`,
  firstName: "Ada",
});
const grace = await client.contacts.upsert({
  email: `grace+${Date.now()}@example.com`,
  firstName: "Grace",
});
const bulk = await client.bulkEnroll(workflow.id, [ada.id, grace.id]);
console.log(`bulk: ${bulk.createdCount} enrolled, ${bulk.skippedCount} skipped`);

try {
  await client.createEnrollment({ workflowId: workflow.id, contactId: ada.id });
} catch (err) {
  if (err instanceof NudgeError) {
    console.log(`second enrollment: ${err.status} ${err.error}`); // 409 already_enrolled
  } else {
    throw err;
  }
}

const first = bulk.results.find((r) => r.enrollmentId)?.enrollmentId as string;
let enrollment = await client.getEnrollment(first);
for (let i = 0; i < 40 && enrollment.status !== "completed"; i++) {
  await new Promise((r) => setTimeout(r, 250));
  enrollment = await client.getEnrollment(first);
}
console.log(`enrollment ${enrollment.id}: ${enrollment.status}`);
for (const entry of await client.listEnrollmentLogs(first)) {
  console.log(`  ${entry.at} ${entry.stepId} ${entry.status}: ${entry.message}`);
}
let listed = 0;
for await (const _ of client.enrollments.list({ workflowId: workflow.id, limit: 1 })) {
  listed++;
}
console.log(`listed ${listed} enrollments, one per page`);
if (enrollment.status !== "completed" || listed !== 2) {
  process.exitCode = 1;
}
