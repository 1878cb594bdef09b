// The interface of SMS and voice providers: send a text, place a call, and read what their
// webhooks (/inbound/{provider}/{connectionId}) say: delivery statuses, call outcomes, and
// messages contacts send back (STOP, START, HELP). Twilio does both channels; a voice agent
// (Vapi-style) places AI calls; with no connection, the capture provider (capture.ts) keeps both.
import type { CallOutcome } from "../engine/outreach";
import type { Env } from "../ground/env";
import type {
  CredentialProblem,
  Credentials,
  InboundRequest,
  SendResult,
  Verdict,
} from "./provider";

export interface OutgoingSms {
  /** Our message id (`msg_...`). */
  messageId: string;
  to: string;
  body: string;
  /** Where the provider posts delivery statuses (this connection's inbound URL). */
  statusCallback: string;
}

export interface OutgoingCall {
  messageId: string;
  to: string;
  /** Rendered: what a TwiML call says, or a voice agent's first message. */
  script?: string;
  twimlUrl?: string;
  agent?: { assistantId: string; variables?: Record<string, unknown> };
  maxDurationSeconds: number;
  machineDetection: boolean;
  statusCallback: string;
  /** The contact's fields and the enrollment's variables, for a voice agent's prompt. */
  variables: Record<string, unknown>;
}

export interface PhoneContext {
  env: Env;
  orgId: string;
  credentials: Credentials;
}

/** What a phone provider's webhook reports, in Nudge's terms. */
export type PhoneEvent =
  | {
      kind: "sms_status";
      providerMessageId: string;
      status: "sent" | "delivered" | "failed" | "undelivered";
      error?: string;
    }
  | {
      kind: "call_ended";
      providerMessageId: string;
      ourMessageId?: string;
      outcome: CallOutcome;
      durationSeconds?: number;
      summary?: string;
    }
  | { kind: "sms_received"; providerMessageId: string; from: string; to: string; body: string }
  | { kind: "ignored" };

export interface PhoneProvider<N extends string = string> {
  name: N;
  channels: ("sms" | "call")[];
  requiredCredentials: string[];
  /** What the outbound policy refuses in these credentials (checked at save and before each call). */
  refuseCredentials?(credentials: Credentials, env: Env): CredentialProblem[];
  sendSms?(sms: OutgoingSms, ctx: PhoneContext): Promise<SendResult>;
  placeCall?(call: OutgoingCall, ctx: PhoneContext): Promise<SendResult>;
  inbound?: {
    /** `url`: the URL the provider called (Twilio signs it). */
    verify(req: InboundRequest & { url: string }, credentials: Credentials): Promise<Verdict>;
    parse(req: InboundRequest): PhoneEvent[];
  };
}

export const definePhoneProvider = <const N extends string>(p: PhoneProvider<N>) => p;

/** Words a contact texts to opt out of (and back into) SMS, as carriers and the CTIA define them. */
export const STOP_WORDS = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"];
export const START_WORDS = ["START", "YES", "UNSTOP"];
export const HELP_WORDS = ["HELP", "INFO"];

/** What a received text asks for: the first word, case-insensitive. */
export function keywordOf(body: string): "stop" | "start" | "help" | null {
  const word =
    body
      .trim()
      .split(/\s+/)[0]
      ?.toUpperCase()
      .replace(/[^A-Z]/g, "") ?? "";
  return STOP_WORDS.includes(word)
    ? "stop"
    : START_WORDS.includes(word)
      ? "start"
      : HELP_WORDS.includes(word)
        ? "help"
        : null;
}
