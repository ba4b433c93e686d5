/** bin/bosun.js as a real process: it starts, lists every command, and exits by itself. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";

const BIN = join(import.meta.dirname, "../../bin/bosun.js");
const run = promisify(execFile);

describe("bin/bosun.js", () => {
  it("prints the help with every command and exits 0", async () => {
    const { stdout } = await run(process.execPath, [BIN, "--help"], { timeout: 30_000 });
    assert.match(stdout, /^Usage: bosun \[options\] \[command\]/);
    for (const cmd of [
      "start",
      "server",
      "worker",
      "submit",
      "status",
      "list",
      "logs",
      "wait",
      "nodes",
      "drain",
    ])
      assert.match(stdout, new RegExp(`^  ${cmd} `, "m"), `${cmd} is listed`);
  });

  it("exits 2 when the server cannot be reached", async () => {
    const err = await run(process.execPath, [BIN, "--server", "http://127.0.0.1:1", "list"], {
      timeout: 30_000,
    }).catch((e: { code: number; stderr: string }) => e);
    assert.equal((err as { code: number }).code, 2);
    assert.match(
      (err as { stderr: string }).stderr,
      /cannot reach the Bosun server at http:\/\/127\.0\.0\.1:1/,
    );
  });
});
