// `cloudflare:sockets` does not exist in Node; the OpenAPI check only builds the app and never opens a socket.
export function connect(): never {
  throw new Error("cloudflare:sockets is not available in Node");
}
