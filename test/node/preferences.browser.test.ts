// The hosted pages in a real browser (Chromium through playwright-core) against a local Nudge:
// the preference page saves topic choices, and the double opt-in link confirms once the
// contact presses its button — loading it, scripts run, confirms nothing.
import { createServer } from "node:net";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { client, sleep, startLocal, tempState } from "../../scripts/lib/local.mjs";
import { CHROMIUM, describeInChromium } from "./chromium";

/** A port nothing listens on now (the harness servers use fixed ones; this must not collide). */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

describeInChromium("hosted pages in Chromium", () => {
  let server: Awaited<ReturnType<typeof startLocal>>;
  let api: ReturnType<typeof client>;
  let browser: Browser;

  beforeAll(async () => {
    server = await startLocal({
      port: Number(process.env.BROWSER_TEST_PORT ?? (await freePort())),
      stateDir: tempState("nudge-browser-"),
    });
    api = client(server.base, server.key);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** The first outbox email to `to`, once it is there. */
  async function mailTo(to: string) {
    for (let i = 0; i < 100; i++) {
      const res = await api("GET", `/v1/outbox?to=${encodeURIComponent(to)}`);
      if (res.json?.data?.length) {
        return res.json.data[0] as { html: string; text: string };
      }
      await sleep(200);
    }
    throw new Error(`no email to ${to}`);
  }

  it("the preference page shows the topics in the org's colours and saves what is ticked", async () => {
    await api("PATCH", "/v1/account", {
      branding: { name: "Acme Browser", accentColor: "#3b5bdb" },
    });
    for (const key of ["newsletter", "product"]) {
      expect((await api("POST", "/v1/topics", { key, name: `The ${key}` })).status).toBe(201);
    }
    const wf = await api("POST", "/v1/workflows", {
      name: "News",
      status: "active",
      steps: [
        {
          type: "send_email",
          config: {
            subject: "News",
            topic: "newsletter",
            html: '<p>News</p><p><a href="{{ preferences_url }}">Manage preferences</a></p>',
          },
        },
      ],
    });
    expect(wf.status).toBe(201);
    const enrolled = await api("POST", "/v1/enrollments", {
      workflowId: wf.json.id,
      contact: { email: "browser@x.test", firstName: "Bea" },
    });
    expect(enrolled.status).toBe(201);
    const email = await mailTo("browser@x.test");
    const link = /href="([^"]*\/t\/p\/[^"]+)"/.exec(email.html)?.[1];
    expect(link).toBeDefined();

    const page = await browser.newPage();
    await page.goto(link as string);
    expect(await page.locator("h1").textContent()).toBe("Email preferences");
    expect(await page.locator("header").textContent()).toContain("Acme Browser");
    const newsletter = page.locator('input[name="topic"][value="newsletter"]');
    const product = page.locator('input[name="topic"][value="product"]');
    expect(await newsletter.isChecked()).toBe(true);
    expect(await product.isChecked()).toBe(true);
    await product.uncheck();
    await page.getByRole("button", { name: "Save preferences" }).click();
    await page.waitForSelector("text=Your choices are saved.");
    expect(await page.locator('input[name="topic"][value="product"]').isChecked()).toBe(false);
    await page.close();

    const contact = (await api("GET", `/v1/contacts/${enrolled.json.contactId}`)).json;
    expect(contact).toMatchObject({
      subscribed: true,
      topics: { newsletter: true, product: false },
    });
  }, 120_000);

  it("the double opt-in link confirms the contact in the browser when the button is pressed", async () => {
    const res = await api("POST", "/v1/contacts", {
      email: "optin-browser@x.test",
      firstName: "Otto",
      doubleOptIn: true,
    });
    expect(res.json.consent).toBe("pending");
    const email = await mailTo("optin-browser@x.test");
    const link = /href="([^"]*\/t\/s\/[^"]+)"/.exec(email.html)?.[1];
    expect(link).toBeDefined();
    const page = await browser.newPage();
    await page.goto(link as string, { waitUntil: "networkidle" });
    // A scanner that renders the link, scripts and all, stops here: nothing was confirmed.
    expect((await api("GET", `/v1/contacts/${res.json.id}`)).json.consent).toBe("pending");
    await page.getByRole("button", { name: "Confirm my subscription" }).click();
    await page.waitForSelector("text=Your subscription is confirmed.");
    await page.close();
    expect((await api("GET", `/v1/contacts/${res.json.id}`)).json.consent).toBe("confirmed");
  }, 120_000);
});
