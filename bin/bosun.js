#!/usr/bin/env node
// The `bosun` executable. Plain JavaScript on purpose: it must run on any Node to say which Node Bosun
// needs. Bosun itself is TypeScript that Node runs directly by stripping the types (Node >= 22.12 with
// type stripping on; on by default from 22.18 and in Node 24).
const HOW = "In the Bosun repository, `. scripts/node-env.sh` puts Node 24 on your PATH.\n";
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(
    `bosun needs Node.js 22.12 or newer (24 LTS recommended); this is ${process.version}.\n${HOW}`,
  );
  process.exit(1);
}
if (process.features.typescript === false) {
  process.stderr.write(
    `bosun runs TypeScript directly and this Node (${process.version}) does not strip types by default.\n` +
      `Use Node 24, or run: NODE_OPTIONS=--experimental-strip-types bosun …\n${HOW}`,
  );
  process.exit(1);
}

let cli;
try {
  cli = await import("../src/cli/main.ts");
} catch (err) {
  // Node does not strip types under node_modules: a copy installed as a dependency cannot run this way.
  if (err?.code === "ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING") {
    process.stderr.write(
      "bosun: this copy sits under node_modules, where Node does not run TypeScript. " +
        "Run it from a checkout of the Bosun repository (`npm link` there works).\n",
    );
    process.exit(1);
  }
  throw err;
}
process.exitCode = await cli.main(process.argv);
