// vitest globalSetup: the SMTP sink (scripts/lib/smtp-sink.mjs) standing in for a mail relay,
// with what it received readable over HTTP by the tests inside workerd.
import { createServer as createHttp } from "node:http";
import { startSmtpSink } from "../../scripts/lib/smtp-sink.mjs";

/** Listens on free ports and hands them to the tests (`inject("smtpPort")`, `inject("smtpInboxPort")`). */
export default async function setup(project) {
  const sink = await startSmtpSink();
  const http = createHttp((_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(sink.inbox));
  });
  await new Promise((r) => http.listen(0, "127.0.0.1", r));
  project.provide("smtpPort", sink.port);
  project.provide("smtpInboxPort", http.address().port);
  return async () => {
    await sink.close();
    http.close();
  };
}
