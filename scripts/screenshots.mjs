#!/usr/bin/env node
// npm run screenshots — starts a local Nudge with a little data, opens the dashboard's main
// pages in Chromium (Debian's `chromium`, or CHROMIUM_PATH) and writes docs/screenshots/*.png,
// the pictures the README shows.
import { existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { client, sleep, startLocal, tempState } from "./lib/local.mjs";

const root = join(import.meta.dirname, "..");
const out = join(root, "docs/screenshots");
const executablePath = [
  process.env.CHROMIUM_PATH,
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
].find((p) => p && existsSync(p));
if (!executablePath) {
  console.error("screenshots: no Chromium (apt-get install chromium, or set CHROMIUM_PATH)");
  process.exit(1);
}
const port = await new Promise((resolve) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
mkdirSync(out, { recursive: true });
const server = await startLocal({ port, stateDir: tempState("nudge-screenshots-") });
const api = client(server.base, server.key);
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
try {
  // A little data: a welcome series with a branch, a few contacts in it, a task, a webhook.
  const wf = await api("POST", "/v1/workflows", {
    name: "Welcome series",
    status: "active",
    steps: [
      {
        id: "welcome",
        name: "Welcome email",
        type: "send_email",
        config: {
          subject: "Welcome, {{ contact.firstName }}",
          html: "<h1>Welcome to Acme</h1><p>Here is how to start.</p>",
        },
      },
      {
        id: "wait",
        name: "Wait for activation",
        type: "wait_for_event",
        config: { eventName: "activated", timeout: 172800 },
      },
      {
        id: "tips",
        name: "Tips email",
        type: "send_email",
        config: { subject: "Three tips", html: "<p>Tips</p>" },
      },
      {
        id: "nudge",
        name: "Nudge email",
        type: "send_email",
        config: { subject: "Need a hand?", html: "<p>Reply to this email.</p>" },
      },
      {
        id: "call",
        name: "Call task",
        type: "task",
        config: {
          taskType: "call",
          title: "Call {{ contact.firstName }}",
          dueIn: 86400,
          assignee: "sam@acme.example",
        },
      },
    ],
    transitions: [
      { from: "welcome", to: "wait" },
      { from: "wait", to: "tips", on: "event" },
      { from: "wait", to: "nudge", on: "timeout" },
      { from: "nudge", to: "call" },
    ],
  });
  const people = ["ada", "grace", "alan", "edsger", "barbara", "ken"];
  let first = "";
  for (const [i, name] of people.entries()) {
    const e = await api("POST", "/v1/enrollments", {
      workflowId: wf.json.id,
      contact: { email: `${name}@example.com`, firstName: name[0].toUpperCase() + name.slice(1) },
    });
    first ||= e.json.id;
    if (i % 2 === 0) {
      await sleep(300);
      await api("POST", "/v1/events", { email: `${name}@example.com`, name: "activated" });
    }
  }
  const tasks = await api("POST", "/v1/workflows", {
    name: "Rep follow-up",
    status: "active",
    steps: [
      {
        type: "task",
        config: {
          taskType: "call",
          title: "Call back about pricing",
          instructions: "They asked for a quote.",
          dueIn: 86400,
          assignee: "sam@acme.example",
          outcomes: ["connected", "voicemail"],
        },
      },
    ],
  });
  await api("POST", "/v1/enrollments", {
    workflowId: tasks.json.id,
    contact: { email: "ada@example.com" },
  });
  const hook = await api("POST", "/v1/webhooks", { url: `${server.base}/health`, events: ["*"] });
  await api("POST", `/v1/webhooks/${hook.json.id}/test`);
  await sleep(3000);
  const contact = (await api("GET", "/v1/contacts?email=ada@example.com")).json.data[0].id;
  const outbox = (await api("GET", "/v1/outbox?to=ada@example.com")).json.data.at(-1);

  const page = await browser.newPage({
    viewport: { width: 1280, height: 820 },
    deviceScaleFactor: 1,
  });
  await page.goto(`${server.base}/app`);
  await page.getByLabel("API key").fill(server.key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 1, name: "Workflows" }).waitFor();
  const shots = [
    ["workflows", "/workflows"],
    ["workflow", `/workflows/${wf.json.id}`],
    ["enrollments", `/workflows/${wf.json.id}/enrollments`],
    ["enrollment", `/enrollments/${first}`],
    ["contact", `/contacts/${contact}`],
    ["email", `/outbox/${outbox.id}`],
    ["tasks", "/tasks"],
    ["webhook", `/webhooks/${hook.json.id}`],
    ["analytics", "/analytics?days=7"],
  ];
  for (const [name, hash] of shots) {
    await page.goto(`${server.base}/app#${hash}`);
    await page.waitForFunction(
      () => document.querySelector("main") && !document.querySelector("main[aria-busy]"),
    );
    await sleep(300);
    await page.screenshot({ path: join(out, `${name}.png`) });
    console.log(`screenshots: docs/screenshots/${name}.png`);
  }
} finally {
  await browser.close();
  await server.stop();
}
