#!/usr/bin/env node
// postinstall: the reference page's script, copied from @scalar/api-reference into the static
// assets (public/docs/scalar.js), so /docs loads it from this Worker and works offline.
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const from = join(root, "node_modules/@scalar/api-reference/dist/browser/standalone.js");
const to = join(root, "public/docs/scalar.js");
if (existsSync(from)) {
  mkdirSync(join(root, "public/docs"), { recursive: true });
  copyFileSync(from, to);
} else {
  console.warn("copy-assets: @scalar/api-reference is not installed; /docs will have no script");
}
