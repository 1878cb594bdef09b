#!/usr/bin/env node
// Builds the dashboard (dashboard/) into static assets: public/app/app.js (one ES module,
// minified, with the SDK it calls) and public/app/app.css. Run by postinstall, npm start and
// npm run deploy; `--watch` rebuilds on change. Prints the gzipped sizes (the first-load budget
// is 150 KiB of compressed JavaScript + CSS; npm run bench reports it too).
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const root = join(import.meta.dirname, "..");
const out = join(root, "public/app");
mkdirSync(out, { recursive: true });

const options = {
  entryPoints: [join(root, "dashboard/main.ts")],
  outfile: join(out, "app.js"),
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  legalComments: "none",
  logLevel: "warning",
};

const copyCss = () => copyFileSync(join(root, "dashboard/app.css"), join(out, "app.css"));

export function dashboardSizes() {
  const size = (f) => gzipSync(readFileSync(join(out, f))).length;
  return { js: size("app.js"), css: size("app.css") };
}

if (process.argv.includes("--watch")) {
  const ctx = await esbuild.context({
    ...options,
    plugins: [{ name: "css", setup: (b) => b.onEnd(copyCss) }],
  });
  await ctx.watch();
  console.log("dashboard: watching dashboard/ …");
} else {
  await esbuild.build(options);
  copyCss();
  const { js, css } = dashboardSizes();
  if (!process.argv.includes("--quiet")) {
    console.log(`dashboard: public/app built (${js} B + ${css} B gzipped)`);
  }
}
