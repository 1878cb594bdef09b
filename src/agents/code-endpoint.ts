// Code agents: the customer's HTTPS endpoint called under the SSRF policy, signed per Standard
// Webhooks with the agent's secret, its answer read through the byte cap.

import { errorText } from "../ground/log";
import { ProviderError } from "../providers/provider";
import { decrypt } from "../security/credentials";
import { RESPONSE_CAPS, ResponseTooLarge, readCapped } from "../security/read-capped";
import { refuseUrl } from "../security/ssrf";
import { signatureHeader } from "../security/standard-webhooks";
import { ExecutionFailure, type Run, withRetries } from "./run";

export async function callEndpoint(run: Run): Promise<unknown> {
  const { env, execution, agent } = run;
  const url = agent.endpoint ?? "";
  const refused = refuseUrl(env, url);
  if (refused) {
    throw new ExecutionFailure("endpoint_refused", `The endpoint is refused: ${refused}`);
  }
  const secret = await decrypt(env, agent.secret ?? "", {
    orgId: agent.orgId,
    table: "agents",
    rowId: agent.id,
  });
  const body = JSON.stringify({
    input: execution.input,
    configuration: agent.configuration,
    executionId: execution.id,
  });
  const text = await withRetries(
    run,
    `POST ${new URL(url).origin}${new URL(url).pathname}`,
    async () => {
      const timestamp = Math.floor(Date.now() / 1000);
      let res: Response;
      try {
        res = await fetch(url, {
          method: "POST",
          redirect: "manual",
          signal: AbortSignal.timeout(run.timeoutMs),
          headers: {
            "content-type": "application/json",
            "user-agent": "Nudge-Agents/1.0",
            "webhook-id": execution.id,
            "webhook-timestamp": String(timestamp),
            "webhook-signature": await signatureHeader([secret], execution.id, timestamp, body),
          },
          body,
        });
      } catch (err) {
        const timedOut = err instanceof Error && err.name === "TimeoutError";
        throw new ProviderError(
          timedOut
            ? `no answer within ${run.timeoutMs / 1000} s`
            : `network error: ${errorText(err)}`,
          true,
        );
      }
      // The endpoint is the tenant's: an answer past the cap is cut there, the stream cancelled.
      const { bytes, truncated } = await readCapped(
        res,
        res.ok ? RESPONSE_CAPS.agent : RESPONSE_CAPS.error,
      );
      if (res.ok && truncated) {
        throw new ProviderError(new ResponseTooLarge(RESPONSE_CAPS.agent).message, false);
      }
      const answer = new TextDecoder().decode(bytes);
      if (!res.ok) {
        throw new ProviderError(
          `HTTP ${res.status}${res.status >= 300 && res.status < 400 ? " (redirects are not followed)" : ""}: ${answer.slice(0, 200)}`,
          res.status === 429 || res.status >= 500,
        );
      }
      return answer;
    },
  );
  try {
    return text.trim() === "" ? null : JSON.parse(text);
  } catch {
    throw new ExecutionFailure(
      "endpoint_invalid_response",
      `The endpoint answered 2xx without JSON: ${text.slice(0, 200)}`,
    );
  }
}
