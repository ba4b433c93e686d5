/**
 * A remote `bosun worker` restarted under the same --id after kill -9, against a real `bosun start` with
 * no local pool: the dead process's attempt is ended as WORKER_LOST when the new one registers (long
 * before its two-minute lease would expire) and retried, instead of being left running.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { api, type BosunProcess, startBosun } from "../helpers/bosun-process.ts";
import { tempDir, waitUntil } from "../helpers/wait.ts";

type Job = { id: string; status: string; attempts: number; workerId: string | null };
type Attempt = { attempt: number; status: string; workerId: string | null; error: { code: string } | null };

const startWorker = (url: string, id: string, workDir: string) =>
  startBosun(["worker", "--server", url, "--id", id, "--concurrency", "1", "--work-dir", workDir], {
    readyLine: "worker is up",
  });

describe("worker restart", () => {
  it("ends the attempt of a kill -9'd worker as WORKER_LOST when it registers again under its id", async () => {
    const dir = await tempDir();
    const bosun = await startBosun([
      "start",
      "--port",
      "0",
      "--data",
      join(dir.path, "data"),
      "--concurrency",
      "0",
      "--lease-ms",
      "120000",
    ]);
    const procs: BosunProcess[] = [bosun];
    try {
      const first = await startWorker(bosun.url, "w1", join(dir.path, "work"));
      procs.push(first);
      const res = await api<{ job: Job }>(bosun.url, "POST", "/api/v1/jobs", {
        type: "sleep",
        payload: { durationMs: 60_000 },
        maxAttempts: 3,
        backoff: { type: "fixed", delayMs: 0 },
      });
      assert.equal(res.status, 201, res.text);
      const id = res.body.job.id;
      const getJob = async () => (await api<{ job: Job }>(bosun.url, "GET", `/api/v1/jobs/${id}`)).body.job;
      await waitUntil(async () => (await getJob()).status === "running", { what: "first attempt running" });

      await first.kill("SIGKILL");
      const second = await startWorker(bosun.url, "w1", join(dir.path, "work"));
      procs.push(second);

      // Attempt 1 is over as lost and attempt 2 runs on the new process; the lease alone would take 2 min.
      const job = await waitUntil(
        async () => {
          const j = await getJob();
          return j.attempts === 2 && j.status === "running" ? j : null;
        },
        { timeoutMs: 10_000, what: "the retry running" },
      );
      assert.equal(job.workerId, "w1");
      const attempts = await api<{ items: Attempt[] }>(bosun.url, "GET", `/api/v1/jobs/${id}/attempts`);
      const lost = attempts.body.items.find((a) => a.attempt === 1);
      assert.equal(lost?.status, "failed", attempts.text);
      assert.equal(lost?.error?.code, "WORKER_LOST", attempts.text);
      assert.equal(lost?.workerId, "w1");
    } finally {
      for (const p of procs.reverse()) await p.kill("SIGKILL");
      await dir.remove();
    }
  });
});
