// The OpenAPI document exactly as the Worker serves it: the app bundled for Node with esbuild
// (`cloudflare:sockets` stubbed; nothing opens a socket) and asked in-process.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";

const root = join(import.meta.dirname, "../..");

export async function servedDocument(origin = "https://api.nudge.example") {
  const dir = mkdtempSync(join(tmpdir(), "nudge-doc-"));
  try {
    const out = join(dir, "app.mjs");
    await build({
      entryPoints: [join(root, "src/app.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      outfile: out,
      logLevel: "error",
      // CommonJS dependencies require Node built-ins: give the ESM bundle a `require`.
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
      alias: { "cloudflare:sockets": join(root, "test/node/sockets-stub.ts") },
    });
    const { buildApp } = await import(out);
    const res = await buildApp().request(`${origin}/openapi-v1.json`);
    return await res.json();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
