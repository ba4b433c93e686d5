#!/usr/bin/env node
// Builds the published package into dist/: tsc compiles src/ to JavaScript with type declarations
// (tsconfig.build.json; `rewriteRelativeImportExtensions` turns the `.ts` specifiers into `.js`), then the
// files the code reads by path at run time (the .sql migrations) are copied beside the compiled modules.
// Node does not strip types under node_modules, so an installed copy must run compiled code; in the
// repository everything still runs from src/ and dist/ only matters to `npm pack`.
// Runs at `prepare` (so `npm ci` on a fresh clone and `npm pack` both build). Plain JavaScript, so it
// needs no type stripping itself. About 4 s.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const root = join(import.meta.dirname, "..");
const src = join(root, "src");
const dist = join(root, "dist");
// Files the code loads by path (import.meta.dirname) rather than by import.
const ASSET = /\.(sql|sh)$/;

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
} catch {
  // `npm ci --omit=dev` on a clone has no compiler; the repository runs from src/ without dist/. A pack
  // without the compiler would ship a package that cannot run, so that one fails.
  const packing = ["pack", "publish"].includes(process.env.npm_command ?? "");
  process.stderr.write(`bosun build: typescript is not installed; ${packing ? "cannot pack" : "skipped"}\n`);
  process.exit(packing ? 1 : 0);
}

// A clean build: a module deleted from src/ must not linger in the package.
rmSync(dist, { recursive: true, force: true });
const built = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], {
  stdio: "inherit",
});
if (built.status !== 0) process.exit(built.status ?? 1);

for (const file of readdirSync(src, { recursive: true, encoding: "utf8" })) {
  if (!ASSET.test(file)) continue;
  mkdirSync(dirname(join(dist, file)), { recursive: true });
  copyFileSync(join(src, file), join(dist, file));
}
