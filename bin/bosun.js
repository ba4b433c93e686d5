#!/usr/bin/env node
// The `bosun` executable. Bosun is TypeScript run directly by Node's type stripping (Node >= 22.12).
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(
    `bosun needs Node.js 22.12 or newer (24 LTS recommended); this is ${process.version}.\n` +
      "In the Bosun repository, `. scripts/node-env.sh` puts Node 24 on your PATH.\n",
  );
  process.exit(1);
}
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv);
