/**
 * One process per data folder, as a user meets it: a second `bosun start` on a folder that another one
 * holds exits at once with DATA_DIR_LOCKED, naming the folder and the holder's pid; `Bosun.open` on it
 * rejects with the same error; and a folder left by kill -9 lets the next `bosun start` up at once, with
 * the unclean close in its log. The lock itself is tested in test/store/sqlite-lock.test.ts.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { BosunError } from "../../src/core/errors.ts";
import { Bosun } from "../../src/sdk/bosun.ts";
import { BIN, type BosunProcess, startBosun } from "../helpers/bosun-process.ts";
import { tempDir, waitUntil } from "../helpers/wait.ts";

/** `bosun <args>` to its end (killed after 20 s: a second start that comes up must fail, not hang). */
function runBosun(args: string[]): Promise<{ code: number | string; stderr: string; stdout: string }> {
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (d) => (stdout += d));
  proc.stderr.on("data", (d) => (stderr += d));
  const deadline = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  return new Promise((resolve) =>
    proc.on("close", (code, sig) => {
      clearTimeout(deadline);
      resolve({ code: sig ?? code!, stderr, stdout });
    }),
  );
}

function isLocked(folder: string, pid: number) {
  return (err: unknown) => {
    assert.ok(err instanceof BosunError, String(err));
    assert.equal(err.code, "DATA_DIR_LOCKED");
    assert.ok(err.message.includes(folder) && err.message.includes(String(pid)), err.message);
    return true;
  };
}

describe("a data folder held by a running bosun start", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let first: BosunProcess;

  before(async () => {
    dir = await tempDir();
    first = await startBosun(["start", "--port", "0", "--data", dir.path, "--concurrency", "1"]);
  });

  after(async () => {
    await first.kill();
    await dir.remove();
  });

  it("makes a second bosun start exit non-zero, naming the folder and the first's pid", async () => {
    // The default port is taken by nothing here: the second fails on the folder, not on the port.
    const second = await runBosun(["start", "--port", "0", "--data", dir.path]);
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, /^bosun: DATA_DIR_LOCKED: /);
    assert.ok(second.stderr.includes(dir.path), second.stderr);
    assert.ok(second.stderr.includes(`process ${first.proc.pid}`), second.stderr);
    assert.doesNotMatch(second.stdout, /Bosun is up/);
    // The first is untouched: still up, still answering.
    const health = await fetch(`${first.url}/api/v1/health`);
    assert.equal(health.status, 200);
  });

  it("makes Bosun.open reject with the same error", async () => {
    await assert.rejects(Bosun.open({ data: dir.path }), isLocked(dir.path, first.proc.pid!));
  });
});

describe("Bosun.open in one process", () => {
  it("refuses a second instance on the same folder until the first stops", async () => {
    const dir = await tempDir();
    const a = await Bosun.open({ data: dir.path });
    try {
      await assert.rejects(Bosun.open({ data: dir.path }), isLocked(dir.path, process.pid));
    } finally {
      await a.stop();
    }
    const b = await Bosun.open({ data: dir.path });
    await b.stop();
    await dir.remove();
  });
});

describe("a data folder left by kill -9", () => {
  it("never blocks the restart, which reports the unclean close", async () => {
    const dir = await tempDir();
    const args = ["start", "--port", "0", "--data", dir.path, "--concurrency", "1"];
    const first = await startBosun(args);
    assert.equal(await first.kill("SIGKILL"), "SIGKILL");
    const second = await startBosun(args);
    try {
      assert.ok(second.proc.pid !== first.proc.pid);
      await waitUntil(() => second.lines.some((l) => l.includes("data folder was not closed cleanly")), {
        what: "the unclean-close warning",
      });
    } finally {
      assert.equal(await second.kill(), 0);
    }
    // Stopped cleanly this time: the next start has nothing to report.
    const third = await startBosun(args);
    try {
      assert.ok(!third.lines.some((l) => l.includes("not closed cleanly")), third.lines.join("\n"));
    } finally {
      await third.kill();
      await dir.remove();
    }
  });
});
