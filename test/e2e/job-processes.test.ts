/**
 * What a job's processes see and how long they live, against a real `bosun start`: no server secret in
 * their environment (only PATH, HOME, LANG, TZ, BOSUN_JOB_ID, BOSUN_ATTEMPT, the job's env and the
 * operator's allow-list), env names checked at enqueue, and every process of an attempt gone after
 * kill -9 of the process that started it.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { api, type BosunProcess, startBosun, waitDone } from "../helpers/bosun-process.ts";
import { tempDir, waitUntil } from "../helpers/wait.ts";

type Job = { id: string; status: string; result?: { stdout: string } };

/** Pids of live processes whose command line contains `marker` (from /proc, so nothing is missed). */
async function processesWith(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes(marker)) pids.push(Number(entry));
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("job processes", () => {
  it("see none of the server's secrets, only their own environment and the allow-list", async () => {
    const dir = await tempDir();
    const bosun = await startBosun(["start", "--port", "0", "--data", dir.path, "--concurrency", "1"], {
      env: {
        BOSUN_DB_PASSWORD_PROBE: "hunter2",
        BOSUN_ALERT_WEBHOOK_SECRET: "webhook-s3cret",
        OPERATOR_SHARED: "shared-value",
        BOSUN_JOB_ENV_ALLOW: "OPERATOR_SHARED",
      },
    });
    try {
      const res = await api<{ job: Job }>(bosun.url, "POST", "/api/v1/jobs", {
        type: "shell",
        payload: { command: "env", env: { MINE: "yes" } },
        maxAttempts: 1,
      });
      assert.equal(res.status, 201);
      const done = await waitDone<Job>(bosun.url, res.body.job.id);
      assert.equal(done.status, "completed");
      const vars = new Map(
        done
          .result!.stdout.split("\n")
          .filter((l) => l.includes("="))
          .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
      );
      assert.ok(!done.result!.stdout.includes("hunter2"), done.result!.stdout);
      assert.ok(!done.result!.stdout.includes("webhook-s3cret"), done.result!.stdout);
      for (const name of ["PATH", "HOME", "LANG", "TZ", "BOSUN_JOB_ID", "BOSUN_ATTEMPT"])
        assert.ok(vars.has(name), `${name} missing in ${done.result!.stdout}`);
      assert.equal(vars.get("BOSUN_JOB_ID"), done.id);
      assert.equal(vars.get("MINE"), "yes");
      assert.equal(vars.get("OPERATOR_SHARED"), "shared-value");

      for (const env of [{ "A=B;": "x" }, { "1A": "x" }, { OK: "nul\u0000inside" }]) {
        const bad = await api<{ error: { code: string } }>(bosun.url, "POST", "/api/v1/jobs", {
          type: "shell",
          payload: { command: "true", env },
        });
        assert.equal(bad.status, 400, JSON.stringify(env));
        assert.equal(bad.body.error.code, "VALIDATION_FAILED");
      }
      const list = await api<{ items: unknown[] }>(bosun.url, "GET", "/api/v1/jobs?limit=100");
      assert.equal(list.body.items.length, 1, "a refused job was stored");
    } finally {
      await bosun.kill();
      await dir.remove();
    }
  });

  it("die with their worker: kill -9 of bosun start ends the attempt's command and its children", async () => {
    const dir = await tempDir();
    const pidFile = join(dir.path, "pids");
    const bosun = await startBosun([
      "start",
      "--port",
      "0",
      "--data",
      join(dir.path, "data"),
      "--concurrency",
      "1",
    ]);
    let pids: number[] = [];
    try {
      const res = await api<{ job: Job }>(bosun.url, "POST", "/api/v1/jobs", {
        type: "shell",
        // The shell, a background grandchild and the foreground sleep, each recorded.
        payload: { command: `echo $$ > ${pidFile}; sleep 30 & echo $! >> ${pidFile}; sleep 30` },
        maxAttempts: 1,
      });
      assert.equal(res.status, 201);
      await waitUntil(async () => {
        const text = await readFile(pidFile, "utf8").catch(() => "");
        pids = text.split("\n").filter(Boolean).map(Number);
        return pids.length === 2;
      });
      assert.ok(pids.every(alive), "the job's processes run before the kill");
    } finally {
      await bosun.kill("SIGKILL");
    }
    await waitUntil(() => pids.every((pid) => !alive(pid)), { timeoutMs: 2000 });
    await dir.remove();
  });

  it("die with a remote worker: kill -9 of bosun worker ends the attempt's command and its children", async () => {
    const dir = await tempDir();
    // Unique sleep lengths mark the attempt's processes: the shell's command line and both sleeps carry it.
    const marker = `30.${randomBytes(4).readUInt32BE() % 1_000_000}`;
    const bosun = await startBosun([
      "start",
      "--port",
      "0",
      "--data",
      join(dir.path, "data"),
      "--concurrency",
      "0",
    ]);
    let worker: BosunProcess | null = null;
    try {
      worker = await startBosun(
        [
          "worker",
          "--server",
          bosun.url,
          "--id",
          "w1",
          "--concurrency",
          "1",
          "--work-dir",
          join(dir.path, "work"),
        ],
        { readyLine: "worker is up" },
      );
      const res = await api<{ job: Job }>(bosun.url, "POST", "/api/v1/jobs", {
        type: "shell",
        payload: { command: `sleep ${marker}1 & sleep ${marker}2` },
        maxAttempts: 1,
      });
      assert.equal(res.status, 201);
      // The supervising shell and the two sleeps.
      await waitUntil(async () => (await processesWith(marker)).length >= 3, { what: "the job's processes" });
      await worker.kill("SIGKILL");
      await waitUntil(async () => (await processesWith(marker)).length === 0, {
        timeoutMs: 2000,
        what: "no process of the attempt alive",
      });
    } finally {
      await worker?.kill("SIGKILL");
      await bosun.kill();
      await dir.remove();
    }
  });
});
