// The dashboard in a real browser (Debian's Chromium through playwright-core) against a local
// Nudge started by the test: sign in (a wrong key first), create a workflow from the dry-run
// form, activate it, enroll a contact, watch its timeline advance, open its email from the
// outbox, cancel an enrollment, see a webhook delivery — and on every main page: no serious
// accessibility violation (axe-core), at most three API calls, no console error.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import { createServer as netServer } from "node:net";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { client, sleep, startLocal, tempState } from "../../scripts/lib/local.mjs";
import { CHROMIUM, describeInChromium } from "./chromium";

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = netServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

const STEPS = JSON.stringify([
  {
    id: "welcome",
    type: "send_email",
    config: {
      subject: "Welcome aboard",
      html: '<h1>Hello from the browser test</h1><p><a href="https://example.com/docs">Docs</a></p>',
    },
  },
  { id: "await", type: "wait_for_event", config: { eventName: "clicked_cta", timeout: 86400 } },
  {
    id: "thanks",
    type: "send_email",
    config: { subject: "Thanks for clicking", html: "<p>Thanks</p>" },
  },
]);

describeInChromium("the dashboard in Chromium", () => {
  let server: Awaited<ReturnType<typeof startLocal>>;
  let api: ReturnType<typeof client>;
  let browser: Browser;
  let page: Page;
  let hooks: Server;
  let hookPort: number;
  const received: string[] = [];
  const consoleErrors: string[] = [];
  /** API requests the page made since the last reset. */
  let apiCalls: string[] = [];

  beforeAll(async () => {
    server = await startLocal({
      port: Number(process.env.DASHBOARD_TEST_PORT ?? (await freePort())),
      stateDir: tempState("nudge-dashboard-"),
    });
    api = client(server.base, server.key);
    hookPort = await freePort();
    hooks = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        received.push(body);
        res.writeHead(200).end("ok");
      });
    }).listen(hookPort, "127.0.0.1");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    // axe is injected by the test; the page itself allows no script but its own.
    const context = await browser.newContext({
      bypassCSP: true,
      viewport: { width: 1280, height: 900 },
    });
    page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") {
        consoleErrors.push(m.text());
      }
    });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
    page.on("request", (r) => {
      if (new URL(r.url()).pathname.startsWith("/v1/")) {
        apiCalls.push(`${r.method()} ${new URL(r.url()).pathname}`);
      }
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    hooks?.close();
    await server?.stop();
  });

  /** Waits until the locator's text contains `text` (the page may still be updating). */
  async function waitText(locator: ReturnType<Page["locator"]>, text: string, timeoutMs = 10_000) {
    const started = Date.now();
    for (;;) {
      const now =
        (await locator
          .first()
          .textContent()
          .catch(() => null)) ?? "";
      if (now.includes(text)) {
        return;
      }
      if (Date.now() - started > timeoutMs) {
        throw new Error(`expected "${text}" in: ${now.slice(0, 300)}`);
      }
      await sleep(100);
    }
  }

  /** Opens a page and waits for its heading: the page's data has loaded then. */
  async function open(hash: string, heading: RegExp | string) {
    apiCalls = [];
    await page.goto(`${server.base}/app#${hash}`);
    await page.getByRole("heading", { level: 1, name: heading }).waitFor();
    await page.waitForFunction('!document.querySelector("main[aria-busy]")');
    return [...apiCalls];
  }

  /** Serious or critical accessibility violations on the page as it stands. */
  async function a11y() {
    await page.evaluate(AXE);
    // A string: it runs in the page (the Node-side types know no DOM).
    const result = (await page.evaluate('axe.run({ resultTypes: ["violations"] })')) as {
      violations: { id: string; impact: string; nodes: unknown[] }[];
    };
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.nodes.length})`);
  }

  it("is served with a strict policy: own scripts only, no framing", async () => {
    const res = await fetch(`${server.base}/app`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    const html = await res.text();
    expect(html).not.toMatch(/<script>(?!<\/script>)/); // no inline script
    expect(html).toContain('src="/app/app.js"');
  });

  it("refuses a wrong key, then signs in with the right one", async () => {
    await page.goto(`${server.base}/app`);
    await page.getByLabel("API key").fill("nk_live_not_a_real_key_0000000000");
    await page.getByRole("button", { name: "Sign in" }).click();
    await waitText(page.getByRole("alert"), "not accepted", 10_000);
    expect(await a11y()).toEqual([]);
    await page.getByLabel("API key").fill(server.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Workflows" }).waitFor();
    await page.getByText("No workflows yet").waitFor();
    // The key is in this tab's session storage, not in a cookie or the URL.
    expect(await page.evaluate('sessionStorage.getItem("nudge.apiKey")')).toBe(server.key);
    expect(await page.context().cookies()).toEqual([]);
    expect(page.url()).not.toContain(server.key);
  });

  let workflowId = "";
  let enrollmentId = "";

  it("creates a workflow from the dry-run form, activates it and enrolls a contact", async () => {
    await open("/workflows/new", "New workflow");
    await page.getByLabel("Name").fill("Browser welcome");
    await page.getByLabel("Steps (JSON)").fill(STEPS);
    await page.getByRole("button", { name: "Save draft and dry run" }).click();
    await page.getByRole("heading", { name: "Dry run: completed" }).waitFor();
    await waitText(page.locator(".trace"), 'Would send "Welcome aboard"');
    await waitText(page.getByRole("status"), "saved as a draft");
    await page.getByRole("button", { name: "Activate" }).click();
    await page.getByRole("heading", { name: "Step funnel" }).waitFor();
    workflowId = page.url().split("/workflows/")[1];
    expect(workflowId).toMatch(/^wf_/);
    await waitText(page.locator(".badge").first(), "active");
    // The picture of the graph: one node per step.
    expect(await page.locator("svg.graph .node").count()).toBe(3);
    await page.getByLabel("Contact email").fill("ada@browser.test");
    await page.getByLabel("First name").fill("Ada");
    await page.getByRole("button", { name: "Enroll" }).click();
    await page.getByRole("heading", { level: 1, name: /Enrollment enr_/ }).waitFor();
    enrollmentId = page.url().split("/enrollments/")[1];
    expect(enrollmentId).toMatch(/^enr_/);
  });

  it("shows the timeline advancing live as the contact acts", async () => {
    await waitText(page.locator(".timeline"), 'Waiting for "clicked_cta"', 15_000);
    await waitText(page.locator("table"), "Welcome aboard");
    const tracked = await api("POST", "/v1/events", {
      email: "ada@browser.test",
      name: "clicked_cta",
    });
    expect(tracked.status).toBeLessThan(300);
    // No reload: the page refreshes itself while the enrollment runs.
    await waitText(page.locator("table"), "Thanks for clicking", 20_000);
    await waitText(page.locator(".title-row .badge"), "completed", 20_000);
  });

  it("opens the email from the outbox in a frame that runs no script", async () => {
    const tracked: string[] = [];
    const watch = (r: { url: () => string }) => {
      if (new URL(r.url()).pathname.startsWith("/t/")) {
        tracked.push(r.url());
      }
    };
    page.on("request", watch);
    await open("/outbox", "Outbox");
    await page
      .getByRole("row", { name: /Welcome aboard/ })
      .getByRole("link")
      .first()
      .click();
    await page.getByRole("heading", { level: 1, name: "Welcome aboard" }).waitFor();
    const frame = page.locator("iframe.preview");
    expect(await frame.getAttribute("sandbox")).toBe("");
    await page
      .frameLocator("iframe.preview")
      .getByRole("heading", { name: "Hello from the browser test" })
      .waitFor();
    await waitText(page.getByRole("table", { name: "Headers of the email" }), "ada@browser.test");
    // Looking at the email counts nothing: its pixel and links are not fetched.
    await sleep(500);
    page.off("request", watch);
    expect(tracked, JSON.stringify(consoleErrors)).toEqual([]);
  });

  it("cancels an enrollment", async () => {
    const second = await api("POST", "/v1/enrollments", {
      workflowId,
      contact: { email: "bob@browser.test" },
    });
    expect(second.status).toBe(201);
    await open(`/enrollments/${second.json.id}`, /Enrollment enr_/);
    await waitText(page.locator(".timeline"), "Waiting", 15_000);
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Cancel enrollment" }).click();
    await waitText(page.getByRole("status"), "cancelled");
    await waitText(page.locator(".title-row .badge"), "cancelled", 10_000);
    expect((await api("GET", `/v1/enrollments/${second.json.id}`)).json.status).toBe("cancelled");
  });

  it("adds a webhook endpoint, sends a test event and shows its delivery", async () => {
    await open("/webhooks", "Webhooks");
    await page.getByLabel("URL").fill(`http://127.0.0.1:${hookPort}/hook`);
    await page.getByRole("button", { name: "Add endpoint" }).click();
    await waitText(page.locator(".secret-value"), "whsec_");
    await page.getByRole("link", { name: "Open the endpoint" }).click();
    await page.getByRole("heading", { level: 1, name: /127\.0\.0\.1/ }).waitFor();
    await page.getByRole("button", { name: "Send a test event" }).click();
    await waitText(page.getByRole("status"), "Test event queued");
    for (
      let i = 0;
      i < 40 && !(await page.locator("table").textContent())?.includes("HTTP 200");
      i++
    ) {
      await sleep(500);
      await page.reload();
      await page.getByRole("heading", { name: "Deliveries" }).waitFor();
    }
    await waitText(page.locator("table"), "webhook.test");
    await waitText(page.locator("table"), "HTTP 200");
    expect(received.some((b) => b.includes("webhook.test"))).toBe(true);
  });

  it("every main page loads in at most 3 API calls with no serious accessibility violation", async () => {
    const contact = (await api("GET", "/v1/contacts?email=ada@browser.test")).json.data[0].id;
    const message = (await api("GET", `/v1/messages?contactId=${contact}`)).json.data[0].id;
    const task = await api("POST", "/v1/workflows", {
      name: "Rep follow-up",
      status: "active",
      steps: [{ type: "task", config: { taskType: "call", title: "Call Ada", dueIn: 86400 } }],
    });
    await api("POST", "/v1/enrollments", { workflowId: task.json.id, contactId: contact });
    const pages: [string, RegExp | string][] = [
      ["/workflows", "Workflows"],
      [`/workflows/${workflowId}`, "Browser welcome"],
      [`/workflows/${workflowId}/enrollments`, /Enrollments of/],
      [`/workflows/${workflowId}/versions`, /Versions of/],
      ["/enrollments", "Enrollments"],
      [`/enrollments/${enrollmentId}`, /Enrollment enr_/],
      ["/contacts", "Contacts"],
      [`/contacts/${contact}`, "ada@browser.test"],
      ["/messages", "Messages"],
      [`/messages/${message}`, /Welcome aboard|Thanks for clicking/],
      ["/outbox", "Outbox"],
      ["/tasks", "Tasks"],
      ["/webhooks", "Webhooks"],
      ["/analytics", "Analytics"],
      ["/agents", "Agents"],
    ];
    const report: Record<string, { calls: number; violations: string[] }> = {};
    for (const [hash, heading] of pages) {
      const calls = await open(hash, heading);
      report[hash] = { calls: calls.length, violations: await a11y() };
    }
    for (const [hash, r] of Object.entries(report)) {
      expect(r.calls, `${hash}: ${r.calls} API calls`).toBeLessThanOrEqual(3);
      expect(r.violations, `${hash}: accessibility`).toEqual([]);
    }
    // The task inbox completes a task with an outcome.
    await open("/tasks", "Tasks");
    await page.getByRole("button", { name: "completed" }).first().click();
    await waitText(page.getByRole("status"), "with outcome completed");
    // The only errors a browser logs: the 401 of the wrong key tried at sign-in, and the email
    // preview refusing its tracking pixel (its own policy at work).
    expect(
      consoleErrors.filter(
        (e) =>
          !e.includes("status of 401") && !(e.includes("/t/o/") && e.includes('"img-src data:"')),
      ),
    ).toEqual([]);
  }, 120_000);
});
