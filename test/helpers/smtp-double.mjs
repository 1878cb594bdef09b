// A tiny SMTP server in Node (vitest globalSetup) standing in for a mail relay: it speaks
// just enough SMTP for worker-mailer and keeps what it received, readable over HTTP.
import { createServer as createHttp } from "node:http";
import { createServer } from "node:net";

/** Listens on free ports and hands them to the tests (`inject("smtpPort")`, `inject("smtpInboxPort")`). */
export default async function setup(project) {
  /** @type {{auth: string|null, from: string|null, to: string[], data: string}[]} */
  const inbox = [];
  const smtp = createServer((socket) => {
    let buffer = "";
    let inData = false;
    const current = { auth: null, from: null, to: [], data: "" };
    socket.write("220 smtp.test ESMTP ready\r\n");
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      for (;;) {
        if (inData) {
          const end = buffer.indexOf("\r\n.\r\n");
          if (end < 0) return;
          current.data = buffer.slice(0, end);
          buffer = buffer.slice(end + 5);
          inData = false;
          inbox.push({ ...current, to: [...current.to] });
          socket.write("250 2.0.0 queued as test-1\r\n");
          continue;
        }
        const nl = buffer.indexOf("\r\n");
        if (nl < 0) return;
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        const verb = line.split(" ")[0].toUpperCase();
        if (verb === "EHLO" || verb === "HELO") socket.write("250-smtp.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
        else if (verb === "AUTH") {
          current.auth = line.slice(5);
          socket.write("235 2.7.0 Authentication successful\r\n");
        } else if (verb === "MAIL") {
          current.from = /<([^>]*)>/.exec(line)?.[1] ?? null;
          socket.write("250 2.1.0 OK\r\n");
        } else if (verb === "RCPT") {
          current.to.push(/<([^>]*)>/.exec(line)?.[1] ?? "");
          socket.write("250 2.1.5 OK\r\n");
        } else if (verb === "DATA") {
          inData = true;
          socket.write("354 End data with <CR><LF>.<CR><LF>\r\n");
        } else if (verb === "QUIT") {
          socket.end("221 2.0.0 Bye\r\n");
          return;
        } else socket.write("250 OK\r\n");
      }
    });
    socket.on("error", () => {});
  });
  const http = createHttp((_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(inbox));
  });
  await new Promise((r) => smtp.listen(0, "127.0.0.1", r));
  await new Promise((r) => http.listen(0, "127.0.0.1", r));
  project.provide("smtpPort", smtp.address().port);
  project.provide("smtpInboxPort", http.address().port);
  return async () => {
    smtp.close();
    http.close();
  };
}
