#!/usr/bin/env node
// The `bosun` executable. Plain JavaScript on purpose: it must run on any Node to say which Node Bosun
// needs. In a checkout of the repository it runs the TypeScript in src/ directly (Node >= 22.12 strips the
// types; on by default from 22.18 and in Node 24), so the repository never depends on a build. An
// installed package has no src/ but the compiled dist/ (scripts/build.js): Node does not strip types
// under node_modules.
import { existsSync } from "node:fs";

const HOW = "In the Bosun repository, `. scripts/node-env.sh` puts Node 24 on your PATH.\n";
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(
    `bosun needs Node.js 22.12 or newer (24 LTS recommended); this is ${process.version}.\n${HOW}`,
  );
  process.exit(1);
}

const source = new URL("../src/cli/main.ts", import.meta.url);
const fromSource = existsSync(source);
if (fromSource && process.features.typescript === false) {
  process.stderr.write(
    `bosun runs TypeScript directly and this Node (${process.version}) does not strip types by default.\n` +
      `Use Node 24, or run: NODE_OPTIONS=--experimental-strip-types bosun …\n${HOW}`,
  );
  process.exit(1);
}

let cli;
try {
  cli = await import(fromSource ? source.href : "../dist/cli/main.js");
} catch (err) {
  // A checkout copied under node_modules (src/ present): Node refuses to strip its types there.
  if (err?.code === "ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING") {
    process.stderr.write(
      "bosun: this copy sits under node_modules with its TypeScript sources, which Node does not run there. " +
        "Install the published package (`npm pack` builds it), or use `npm link` from the checkout.\n",
    );
    process.exit(1);
  }
  throw err;
}
process.exitCode = await cli.main(process.argv);
