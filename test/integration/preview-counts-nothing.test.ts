// Looking at an email the way the dashboard does counts no open and no click: the message page
// reads GET /v1/messages/{id} and GET /v1/outbox?messageId=…, the outbox page GET /v1/outbox/{id}
// (whose HTML, shown in a sandboxed iframe, carries the tracking pixel and links). Only a real
// fetch of the pixel, as a control, moves the count.
import { describe, expect, it } from "vitest";
import { call, poll } from "../helpers/api";
import { message, sentEmail } from "../helpers/edge";

const BROWSER = { "user-agent": "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Safari/605.1.15" };

describe("the dashboard's email preview", () => {
  it("leaves opens and clicks at 0, however often it is viewed", async () => {
    const s = await sentEmail();
    let outboxId = "";
    for (let i = 0; i < 3; i++) {
      const m = await call("GET", `/v1/messages/${s.messageId}`, { key: s.key, headers: BROWSER });
      expect(m.status).toBe(200);
      const listed = await call("GET", `/v1/outbox?messageId=${s.messageId}&limit=1`, {
        key: s.key,
        headers: BROWSER,
      });
      expect(listed.json.data).toHaveLength(1);
      outboxId = listed.json.data[0].id;
      const item = await call("GET", `/v1/outbox/${outboxId}`, { key: s.key, headers: BROWSER });
      expect(item.status).toBe(200);
      // The preview's HTML is the tracked email itself: the pixel and the click link are in it.
      expect(item.json.html).toContain(s.pixel);
      expect(item.json.html).toContain(s.click);
    }
    const viewed = await message(s.key, s.messageId);
    expect({
      opens: viewed.opens,
      clicks: viewed.clicks,
      machineOpens: viewed.machineOpens,
      machineClicks: viewed.machineClicks,
    }).toEqual({ opens: 0, clicks: 0, machineOpens: 0, machineClicks: 0 });
    const events = await call("GET", `/v1/contacts/${s.contactId}/events`, { key: s.key });
    const names = events.json.data.map((e: { name: string }) => e.name);
    expect(names).not.toContain("email.opened");
    expect(names).not.toContain("email.clicked");
    expect(
      (await call("GET", `/v1/enrollments/${s.enrollmentId}`, { key: s.key })).json.status,
    ).toBe("waiting");

    // The control: a mail client fetching the pixel is counted, so the zeros above were read
    // from a count that moves.
    await call("GET", s.pixel, { headers: { "user-agent": "Mozilla/5.0 Thunderbird/115" } });
    const opened = await poll(
      () => message(s.key, s.messageId),
      (m) => m.opens === 1,
    );
    expect(opened.clicks).toBe(0);
  });
});
