// A small SMTP server standing in for a mail relay: it speaks just enough SMTP for
// worker-mailer and keeps every message it accepted. Used by the tests (vitest globalSetup)
// and by the crash test, which counts provider calls here — outside the product.
import { createServer } from "node:net";

/** Starts the sink on a free loopback port. Each message: {auth, from, to, data, messageId}. */
export async function startSmtpSink() {
  /** @type {{auth: string|null, from: string|null, to: string[], data: string, messageId: string|null}[]} */
  const inbox = [];
  const server = createServer((socket) => {
    let buffer = "";
    let inData = false;
    const current = { auth: null, from: null, to: [], data: "" };
    socket.write("220 smtp.test ESMTP ready\r\n");
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      for (;;) {
        if (inData) {
          const end = buffer.indexOf("\r\n.\r\n");
          if (end < 0) {
            return;
          }
          const data = buffer.slice(0, end);
          buffer = buffer.slice(end + 5);
          inData = false;
          const messageId = /^X-Nudge-Message-Id:\s*(\S+)\r?$/im.exec(data)?.[1] ?? null;
          inbox.push({ ...current, to: [...current.to], data, messageId });
          current.to = [];
          socket.write("250 2.0.0 queued\r\n");
          continue;
        }
        const nl = buffer.indexOf("\r\n");
        if (nl < 0) {
          return;
        }
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        const verb = line.split(" ")[0].toUpperCase();
        if (verb === "EHLO" || verb === "HELO") {
          socket.write("250-smtp.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
        } else if (verb === "AUTH") {
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
        } else {
          socket.write("250 OK\r\n");
        }
      }
    });
    socket.on("error", () => {});
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: server.address().port,
    inbox,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
