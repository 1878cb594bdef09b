// The API-key scope names, shared by the schema, the request context and the auth check
// (what each allows: src/http/scopes.ts).
export const KEY_SCOPES = ["full", "send"] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];
