// Consent links: a double opt-in is confirmed only by a person pressing the page's button (no
// script presses it for a link scanner), and confirmation, preference and unsubscribe links
// expire (7, 90 and 90 days): an expired one answers 410 with a page saying so, and changes
// nothing.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signToken, type TokenPayload } from "../../src/security/tokens";
import { activeWorkflow, call, expectError, newOrg, poll } from "../helpers/api";
import { settle } from "../helpers/enrollments";

const DAY = 86_400_000;
/** What a browser sends: it asks for HTML. */
const browser = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };
const form = (raw: string) => ({
  raw,
  headers: { "content-type": "application/x-www-form-urlencoded", ...browser },
});
const oneClick = {
  raw: "List-Unsubscribe=One-Click",
  headers: { "content-type": "application/x-www-form-urlencoded" },
};

/** The payload a link of the outbox carries. */
const payloadOf = (token: string) =>
  JSON.parse(atob(token.split(".")[1].replaceAll("-", "+").replaceAll("_", "/"))) as TokenPayload;

/** A pending contact and its confirmation link's token. */
async function pendingContact() {
  const { key, orgId } = await newOrg();
  const email = `optin-${crypto.randomUUID().slice(0, 8)}@x.co`;
  const res = await call("POST", "/v1/contacts", { key, body: { email, doubleOptIn: true } });
  expect(res.json.consent).toBe("pending");
  const [mail] = await poll(
    async () => (await call("GET", `/v1/outbox?to=${email}`, { key })).json.data,
    (d) => d.length === 1,
  );
  const token = /\/t\/s\/([\w.-]+)/.exec(mail.html)?.[1] as string;
  expect(token).toBeDefined();
  const consent = async () =>
    (await call("GET", `/v1/contacts/${res.json.id}`, { key })).json.consent;
  return { key, orgId, contactId: res.json.id as string, token, consent };
}

/** A sent marketing email's unsubscribe token, and the contact's subscription. */
async function sentEmail() {
  const { key, orgId } = await newOrg();
  const w = await activeWorkflow(key, [
    { id: "m", type: "send_email", config: { subject: "Hi", html: "<p>News</p>" } },
  ]);
  const e = (
    await call("POST", "/v1/enrollments", {
      key,
      body: {
        workflowId: w.id,
        contact: { email: `news-${crypto.randomUUID().slice(0, 8)}@x.co` },
      },
    })
  ).json;
  await settle(key, e.id);
  const [mail] = await poll(
    async () => (await call("GET", "/v1/outbox", { key })).json.data,
    (d) => d.length === 1,
  );
  const token = /\/t\/u\/([^>]+)>/.exec(mail.headers["List-Unsubscribe"])?.[1] as string;
  const subscribed = async () =>
    (await call("GET", `/v1/contacts/${e.contactId}`, { key })).json.subscribed;
  return {
    key,
    orgId,
    contactId: e.contactId as string,
    messageId: mail.messageId,
    token,
    subscribed,
  };
}

/** The same link, signed `days` ago. */
const signedAgo = (token: string, days: number) => {
  const { t: _, ...payload } = payloadOf(token);
  return signToken(env, payload, Date.now() - days * DAY);
};

const expectExpiredPage = async (res: { status: number; text: string; headers: Headers }) => {
  expect(res.status).toBe(410);
  expect(res.headers.get("content-type")).toContain("text/html");
  expect(res.text).toContain("This link has expired");
};

describe("double opt-in", () => {
  it("the confirmation page confirms nothing by itself: no script, a button a person presses", async () => {
    const c = await pendingContact();
    const page = await call("GET", `/t/s/${c.token}`);
    expect(page.status).toBe(200);
    expect(page.text).not.toMatch(/<script|onload=|http-equiv="refresh"/i);
    expect(page.text).toContain(`<form method="post" action="/t/s/${c.token}">`);
    expect(page.text).toContain('<button type="submit">Confirm my subscription</button>');
    expect(await c.consent()).toBe("pending");
    expect((await call("POST", `/t/s/${c.token}`, form(""))).status).toBe(200);
    expect(await c.consent()).toBe("confirmed");
  });

  it("a confirmation link works for 7 days; after that it says it expired and confirms nothing", async () => {
    const c = await pendingContact();
    const old = await signedAgo(c.token, 8);
    await expectExpiredPage(await call("GET", `/t/s/${old}`, { headers: browser }));
    const posted = await call("POST", `/t/s/${old}`, form(""));
    await expectExpiredPage(posted);
    expect(posted.text).toContain("Sign up again");
    expect(await c.consent()).toBe("pending");
    const recent = await signedAgo(c.token, 6);
    expect((await call("GET", `/t/s/${recent}`)).status).toBe(200);
    expect((await call("POST", `/t/s/${recent}`, form(""))).status).toBe(200);
    expect(await c.consent()).toBe("confirmed");
  });
});

describe("unsubscribe and preference links", () => {
  it("one-click unsubscribe works for 90 days; an older link answers 410 and unsubscribes nothing", async () => {
    const s = await sentEmail();
    const old = await signedAgo(s.token, 91);
    await expectExpiredPage(await call("GET", `/t/u/${old}`, { headers: browser }));
    // A mail client's one-click POST (no HTML asked for) gets the error in the one shape.
    expectError(await call("POST", `/t/u/${old}`, oneClick), 410, "link_expired");
    await expectExpiredPage(
      await call("POST", `/t/u/${old}`, {
        ...oneClick,
        headers: { ...oneClick.headers, ...browser },
      }),
    );
    expect(await s.subscribed()).toBe(true);
    const recent = await signedAgo(s.token, 89);
    expect((await call("POST", `/t/u/${recent}`, oneClick)).status).toBe(200);
    await poll(s.subscribed, (v) => v === false);
  });

  it("a preference link works for 90 days; an older one answers 410 in the org's page and saves nothing", async () => {
    const s = await sentEmail();
    const payload = {
      k: "p" as const,
      g: s.orgId,
      m: s.messageId,
      c: s.contactId,
      s: { b: { n: "Acme Ltd" }, t: [] as [string, string, boolean][], u: 0 as const },
    };
    const old = await signToken(env, payload, Date.now() - 91 * DAY);
    const page = await call("GET", `/t/p/${old}`, { headers: browser });
    await expectExpiredPage(page);
    expect(page.text).toContain("Acme Ltd");
    await expectExpiredPage(await call("POST", `/t/p/${old}`, form("all=on")));
    expect(await s.subscribed()).toBe(true);
    const recent = await signToken(env, payload, Date.now() - 89 * DAY);
    expect((await call("GET", `/t/p/${recent}`)).status).toBe(200);
    expect((await call("POST", `/t/p/${recent}`, form("all=on"))).status).toBe(200);
    expect(await s.subscribed()).toBe(false);
  });

  it("an old preference form changes only what it showed: it does not resubscribe a contact who unsubscribed since", async () => {
    const s = await sentEmail();
    const link = await signToken(env, {
      k: "p",
      g: s.orgId,
      m: s.messageId,
      c: s.contactId,
      s: { b: {}, t: [["newsletter", "The newsletter", true]], u: 0 },
    });
    const page = await call("GET", `/t/p/${link}`, { headers: browser });
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('name="all" value="on" checked');
    // After the page was drawn, the contact unsubscribes from everything (the email's one-click).
    expect((await call("POST", `/t/u/${s.token}`, oneClick)).status).toBe(200);
    await poll(s.subscribed, (v) => v === false);
    // The old form is posted as it was drawn: the topic ticked, "unsubscribe from everything" not.
    const saved = await call("POST", `/t/p/${link}`, form("topic=newsletter"));
    expect(saved.status).toBe(200);
    expect(await s.subscribed()).toBe(false);
    const contact = (await call("GET", `/v1/contacts/${s.contactId}`, { key: s.key })).json;
    expect(contact.topics).toMatchObject({ newsletter: true });
    // The page it answers shows the contact as it is now: unsubscribed from everything, which
    // the person may untick — that, and only that, subscribes them again.
    expect(saved.text).toContain('name="all" value="on" checked');
    const hidden = [
      ...saved.text.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g),
    ];
    expect(hidden.length).toBeGreaterThan(0);
    const kept = hidden.map(([, name, value]) => `${name}=${value}`).join("&");
    expect((await call("POST", `/t/p/${link}`, form(`topic=newsletter&${kept}`))).status).toBe(200);
    expect(await s.subscribed()).toBe(true);
  });
});
