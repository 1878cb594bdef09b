// Who sends an org's email: the connection named, else the org's default connection, else the
// capture provider (GET /v1/outbox) — with the connection's credentials decrypted.
import type { Db } from "../db/client";
import { ConfigurationError, config } from "../ground/config";
import type { Env } from "../ground/env";
import { errorText } from "../ground/log";
import {
  CAPTURE_PROVIDER,
  PHONE_CAPTURE_PROVIDER,
  PHONE_PROVIDER_NAMES,
  phoneProviderOf,
  providerOf,
} from "../providers";
import type { PhoneProvider } from "../providers/phone";
import type { Credentials, Provider } from "../providers/provider";
import { decrypt } from "../security/credentials";
import type { Sender } from "./compose";
import {
  type ConnectionRow,
  firstConnectionOf,
  getConnection,
  getConnectionByKey,
} from "./connections-store";

/** A connection that cannot send (missing, unknown provider, unreadable credentials): retrying will not help. */
export class SenderUnavailable extends Error {}

/** The connection named, else the org's default, else the capture provider, with its credentials. */
export async function loadSender(
  env: Env,
  db: Db,
  orgId: string,
  connectionId?: string,
): Promise<
  { provider: Provider; credentials: Credentials; connection: ConnectionRow | null } & Sender
> {
  const conn: ConnectionRow | undefined = connectionId
    ? await getConnection(db, orgId, connectionId)
    : await getConnectionByKey(db, orgId, "default");
  if (connectionId && !conn) {
    throw new SenderUnavailable(`Connection ${connectionId} does not exist`);
  }
  if (!conn) {
    return {
      provider: CAPTURE_PROVIDER,
      credentials: {},
      connection: null,
      from: null,
      replyDomain: config(env).replyDomain,
    };
  }
  const provider = providerOf(conn.provider);
  if (!provider) {
    throw new SenderUnavailable(
      `Connection ${conn.id} (${conn.provider}) does not send email; name an email connection`,
    );
  }
  return {
    provider,
    credentials: await readCredentials(env, conn),
    connection: conn,
    from: conn.from,
    replyDomain: conn.replyDomain ?? config(env).replyDomain,
  };
}

/**
 * Who places an org's SMS or call: the connection named, else the org's oldest connection
 * whose provider serves the channel, else the capture provider.
 */
export async function loadPhoneSender(
  env: Env,
  db: Db,
  orgId: string,
  channel: "sms" | "call",
  connectionId?: string,
): Promise<{ provider: PhoneProvider; credentials: Credentials; connectionId: string | null }> {
  const conn = connectionId
    ? await getConnection(db, orgId, connectionId)
    : await firstConnectionOf(
        db,
        orgId,
        PHONE_PROVIDER_NAMES.filter((n) => phoneProviderOf(n)?.channels.includes(channel)),
      );
  if (connectionId && !conn) {
    throw new SenderUnavailable(`Connection ${connectionId} does not exist`);
  }
  if (!conn) {
    return { provider: PHONE_CAPTURE_PROVIDER, credentials: {}, connectionId: null };
  }
  const provider = phoneProviderOf(conn.provider);
  if (!provider?.channels.includes(channel)) {
    throw new SenderUnavailable(
      `Connection ${conn.id} (${conn.provider}) cannot ${channel === "sms" ? "send SMS" : "place calls"}`,
    );
  }
  return { provider, credentials: await readCredentials(env, conn), connectionId: conn.id };
}

async function readCredentials(env: Env, conn: ConnectionRow): Promise<Credentials> {
  try {
    return JSON.parse(
      await decrypt(env, conn.credentials, {
        orgId: conn.orgId,
        table: "connections",
        rowId: conn.id,
      }),
    ) as Credentials;
  } catch (err) {
    if (err instanceof ConfigurationError) {
      throw err;
    }
    throw new SenderUnavailable(
      `The credentials of connection ${conn.id} cannot be read (${errorText(err)}); save them again`,
    );
  }
}
