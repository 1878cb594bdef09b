// The dashboard's figures: the compressed size of its first load (JavaScript + CSS, the page
// itself apart), and — where Chromium is installed — the first load's time to a rendered page
// and the API calls each main page makes.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const root = join(import.meta.dirname, "..", "..");
const CHROMIUM = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find(
  (p) => p && existsSync(p),
);

export function dashboardSizes() {
  const gz = (f) => gzipSync(readFileSync(join(root, "public/app", f)), { level: 9 }).length;
  const js = gz("app.js");
  const css = gz("app.css");
  return {
    jsGzipBytes: js,
    cssGzipBytes: css,
    firstLoadKiB: Math.round(((js + css) / 1024) * 10) / 10,
  };
}

/** Signs in and opens each main page of a workflow with a few enrollments; counts API calls. */
export async function runDashboard({ base, api, key }) {
  const sizes = dashboardSizes();
  if (!CHROMIUM) {
    return { ...sizes, browser: null };
  }
  const { chromium } = await import("playwright-core");
  const wf = await api("POST", "/v1/workflows", {
    name: "Bench dashboard",
    status: "active",
    steps: [
      { id: "a", type: "send_email", config: { subject: "Hi", html: "<p>Hi</p>" } },
      { id: "b", type: "delay", config: { amount: 1, unit: "days" } },
    ],
  });
  let enrollment = "";
  for (let i = 0; i < 5; i++) {
    const e = await api("POST", "/v1/enrollments", {
      workflowId: wf.json.id,
      contact: { email: `d${i}@bench.test` },
    });
    enrollment ||= e.json.id;
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage();
    let calls = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname.startsWith("/v1/")) {
        calls.push(r.url());
      }
    });
    const started = Date.now();
    await page.goto(`${base}/app`);
    await page.getByLabel("API key").waitFor();
    const loginMs = Date.now() - started;
    await page.getByLabel("API key").fill(key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Workflows" }).waitFor();
    const callsPerPage = {};
    const pageMs = {};
    for (const hash of [
      "/workflows",
      `/workflows/${wf.json.id}`,
      `/workflows/${wf.json.id}/enrollments`,
      `/enrollments/${enrollment}`,
      "/contacts",
      "/messages",
      "/outbox",
      "/tasks",
      "/webhooks",
      "/analytics",
      "/agents",
    ]) {
      // A fresh load of each page: its script, styles and data.
      await page.goto("about:blank");
      calls = [];
      const t = Date.now();
      await page.goto(`${base}/app#${hash}`);
      await page.waitForFunction(
        () => document.querySelector("main h1") && !document.querySelector("main[aria-busy]"),
      );
      pageMs[hash.replace(/[a-z]+_[0-9A-Z]{26}/g, ":id")] = Date.now() - t;
      callsPerPage[hash.replace(/[a-z]+_[0-9A-Z]{26}/g, ":id")] = calls.length;
    }
    return {
      ...sizes,
      browser: "chromium",
      loginPageMs: loginMs,
      pageMs,
      callsPerPage,
      maxCallsPerPage: Math.max(...Object.values(callsPerPage)),
    };
  } finally {
    await browser.close();
  }
}
