// The dashboard's only way to the server: the public API through the generated SDK, with the
// key the user signed in with. The key lives in this tab's session storage (gone when the tab
// closes), is sent as a Bearer header, and never goes in a URL or a cookie.
import { Nudge, NudgeError, operations } from "../sdk/src/index";

const KEY = "nudge.apiKey";

export const session = {
  key: () => sessionStorage.getItem(KEY),
  signIn: (key: string) => sessionStorage.setItem(KEY, key.trim()),
  signOut: () => {
    sessionStorage.removeItem(KEY);
    client = null;
  },
};

let client: Nudge | null = null;

/** The SDK's client for the signed-in key. */
export function nudge(): Nudge {
  const key = session.key();
  if (!key) {
    throw new SignedOut("Sign in with an API key");
  }
  client ??= new Nudge({ apiKey: key, baseUrl: location.origin, maxRetries: 1 });
  return client;
}

export class SignedOut extends Error {}

type Result<D> = { data?: D; error?: unknown; response?: Response };

/** A generated operation's data, or its error as a NudgeError (401: signed out). */
export async function run<D>(call: Promise<Result<D>>): Promise<D> {
  const r = await call;
  if (r.error !== undefined || !r.response?.ok) {
    const err = await NudgeError.from(r.response, r.error);
    if (err.status === 401) {
      session.signOut();
      throw new SignedOut(
        "This API key was not accepted: it is wrong, revoked or expired. Sign in again.",
      );
    }
    throw err;
  }
  return r.data as D;
}

/** The generated operations, bound to the signed-in client: `api.getWorkflow({ path: { id } })`. */
export const api = new Proxy({} as BoundOperations, {
  get: (_t, name: string) => (args: Record<string, unknown> = {}) =>
    run((operations as Record<string, (a: unknown) => Promise<Result<unknown>>>)[name]({
      ...args,
      client: nudge().client,
    })),
});

type Ops = typeof operations;
type BoundOperations = {
  [K in keyof Ops]: Ops[K] extends (options: infer O) => Promise<infer R>
    ? (options?: Omit<O, "client">) => Promise<R extends { data: infer D } ? NonNullable<D> : never>
    : never;
};

/** A contact search as the API takes it: an email (it has an @), else a phone number. */
export const contactSearch = (q: string) => (q.includes("@") ? { email: q } : { phone: q });

/** A chart as an image URL (the SVG is fetched with the key; scripts in an image never run). */
export async function chartUrl(query: Record<string, string>): Promise<string> {
  const url = new URL("/v1/analytics/charts", location.origin);
  for (const [k, v] of Object.entries({ ...query, format: "svg" })) {
    url.searchParams.set(k, v);
  }
  const res = await fetch(url, { headers: { authorization: `Bearer ${session.key()}` } });
  if (!res.ok) {
    throw await NudgeError.from(res, await res.json().catch(() => null));
  }
  return URL.createObjectURL(await res.blob());
}

export { NudgeError };
