/**
 * What workers report, bounded and kept (issue 10, items 8e, 9b, 9f): a result over maxResultBytes fails
 * the attempt, a job's log is capped over all its attempts, an UNKNOWN_JOB_TYPE error lists a bounded
 * number of types, a handler's last progress survives its return, and start drift counts first attempts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bosun } from "../../src/sdk/bosun.ts";
import { api } from "../helpers/bosun-process.ts";
import { runCli } from "../helpers/cli.ts";
import { startServer, startWorker } from "../helpers/in-process.ts";
import { tempDir, waitUntil } from "../helpers/wait.ts";

type Job = {
  id: string;
  status: string;
  progress: number | null;
  attempts: number;
  error: { code: string; message: string } | null;
};
type Claim = { id: string; attempt: number; lease: string };

const getJob = async (url: string, id: string) =>
  (await api<{ job: Job }>(url, "GET", `/api/v1/jobs/${id}`)).body.job;

async function submit(url: string, job: Record<string, unknown>): Promise<Job> {
  const res = await api<{ job: Job }>(url, "POST", "/api/v1/jobs", job);
  assert.equal(res.status, 201, res.text);
  return res.body.job;
}

const waitFinished = (url: string, id: string) =>
  waitUntil(
    async () => {
      const j = await getJob(url, id);
      return ["completed", "failed", "cancelled"].includes(j.status) ? j : null;
    },
    { timeoutMs: 20_000, what: `${id} finished` },
  );

/** A worker that speaks the protocol by hand, as one in another language would. */
async function rawWorker(url: string, id: string, types: string[]) {
  const reg = await api(url, "POST", "/api/v1/workers/register", { id, capacity: 1, types });
  assert.equal(reg.status, 200, reg.text);
  return {
    async claim(): Promise<Claim> {
      const res = await api<{ jobs: Claim[] }>(url, "POST", `/api/v1/workers/${id}/poll`, {
        slots: 1,
        waitMs: 5000,
      });
      assert.equal(res.body.jobs.length, 1, res.text);
      return res.body.jobs[0]!;
    },
    report: (body: Record<string, unknown>) => api(url, "POST", `/api/v1/workers/${id}/reports`, body),
  };
}

describe("worker reports", () => {
  it("fails an attempt whose result is over maxResultBytes, without retrying it", async () => {
    const s = await startServer({ maxResultBytes: 64 * 1024 });
    try {
      const w = await rawWorker(s.url, "raw-result", ["big.result"]);
      const job = await submit(s.url, { type: "big.result", maxAttempts: 3 });
      const claim = await w.claim();
      const res = await w.report({
        completed: [
          {
            jobId: claim.id,
            lease: claim.lease,
            attempt: claim.attempt,
            result: { blob: "x".repeat(200 * 1024) },
          },
        ],
      });
      assert.equal(res.status, 200, res.text);
      const done = await getJob(s.url, job.id);
      assert.equal(done.status, "failed");
      assert.equal(done.error?.code, "RESULT_TOO_LARGE");
      assert.equal(done.attempts, 1);
      const full = await api<{ job: { result: unknown } }>(s.url, "GET", `/api/v1/jobs/${job.id}`);
      assert.equal(full.body.job.result, null);
    } finally {
      await s.stop();
    }
  });

  it("caps a job's log over all its attempts, with one notice, for local and remote reports", async () => {
    const limit = 64 * 1024;
    const s = await startServer({ concurrency: 1, maxJobLogBytes: limit });
    try {
      // Three attempts of 40 KB each: 120 KB without a per-job cap (each attempt is under the per-attempt one).
      const shell = await submit(s.url, {
        type: "shell",
        payload: { command: "head -c 40000 /dev/zero | tr '\\0' a; echo; exit 1" },
        maxAttempts: 3,
        backoff: { type: "fixed", delayMs: 0 },
      });
      assert.equal((await waitFinished(s.url, shell.id)).attempts, 3);
      const log = (await api(s.url, "GET", `/api/v1/jobs/${shell.id}/logs`)).text;
      assert.ok(Buffer.byteLength(log) <= limit + 200, `log is ${Buffer.byteLength(log)} bytes`);
      assert.equal(log.match(/log truncated/g)?.length, 1, log.slice(-300));

      // A worker of another language sends 12 MB of log in one report.
      const w = await rawWorker(s.url, "raw-log", ["chatty"]);
      const chatty = await submit(s.url, { type: "chatty" });
      const claim = await w.claim();
      const res = await w.report({
        logs: [{ jobId: claim.id, at: Date.now(), stream: "stdout", data: "y".repeat(12 * 1024 * 1024) }],
        completed: [{ jobId: claim.id, lease: claim.lease, attempt: claim.attempt, result: null }],
      });
      assert.equal(res.status, 200, res.text);
      const text = (await api(s.url, "GET", `/api/v1/jobs/${chatty.id}/logs`)).text;
      assert.ok(Buffer.byteLength(text) <= limit + 200, `log is ${Buffer.byteLength(text)} bytes`);
      assert.match(text, /log truncated/);
    } finally {
      await s.stop();
    }
  });

  it("lists at most maxListedTypes types in UNKNOWN_JOB_TYPE, and says how many more there are", async () => {
    const s = await startServer({ maxListedTypes: 10 });
    try {
      for (let w = 0; w < 5; w++)
        await rawWorker(
          s.url,
          `many-${w}`,
          Array.from({ length: 100 }, (_, i) => `t${w}.${"n".repeat(150)}.${i}`),
        );
      const res = await api<{
        error: { code: string; message: string; details: { known: string[]; more: number } };
      }>(s.url, "POST", "/api/v1/jobs", { type: "nobody.has.this" });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, "UNKNOWN_JOB_TYPE");
      assert.equal(res.body.error.details.known.length, 10);
      assert.ok(res.body.error.details.more >= 490, String(res.body.error.details.more));
      assert.ok(res.text.length < 10_000, `error body is ${res.text.length} bytes`);
      assert.match(res.body.error.message, /and \d+ more/);
    } finally {
      await s.stop();
    }
  });

  it("keeps a handler's last progress when it returns right after reporting it, and bosun status shows it", async () => {
    const dir = await tempDir();
    const bosun = await Bosun.open({ data: dir.path, config: { concurrency: 1, logLevel: "silent" } });
    const s = await startServer();
    const remote = await startWorker({
      server: s.url,
      id: "progress-w",
      capacity: 1,
      handlers: {
        steps: async (_job, ctx) => {
          ctx.progress(40);
          ctx.progress(100);
          return "done";
        },
      },
    });
    try {
      bosun.define("steps", async (_job, ctx) => {
        ctx.progress(40);
        ctx.progress(100);
        return "done";
      });
      await bosun.start();
      for (let i = 0; i < 5; i++) {
        const local = await bosun.enqueue({ type: "steps" });
        const done = await bosun.wait(local.id);
        assert.equal(done.status, "completed");
        assert.equal(done.progress, 100, `local run ${i}`);
      }
      const job = await submit(s.url, { type: "steps" });
      const done = await waitFinished(s.url, job.id);
      assert.equal(done.status, "completed");
      assert.equal(done.progress, 100);
      const status = await runCli(["status", job.id], { BOSUN_URL: s.url });
      assert.equal(status.code, 0, status.all);
      assert.match(status.out, /progress\s+100%/);
    } finally {
      await remote.stop();
      await s.stop();
      await bosun.stop();
      await dir.remove();
    }
  });

  it("counts start drift of a schedule's first attempts only", async () => {
    const s = await startServer({ concurrency: 2 });
    try {
      const created = await api<{ schedule: { id: string } }>(s.url, "POST", "/api/v1/schedules", {
        name: "flaky",
        cron: "* * * * * *",
        job: {
          type: "shell",
          payload: { command: "exit 1" },
          maxAttempts: 3,
          backoff: { type: "fixed", delayMs: 0 },
        },
      });
      assert.equal(created.status, 201, created.text);
      const id = created.body.schedule.id;
      type Run = { id: string; status: string; attempts: number };
      await waitUntil(
        async () =>
          (await api<{ items: Run[] }>(s.url, "GET", `/api/v1/schedules/${id}/runs`)).body.items.some(
            (r) => r.status === "failed",
          ),
        { timeoutMs: 20_000, what: "a failed run" },
      );
      await api(s.url, "POST", `/api/v1/schedules/${id}/pause`);
      const runs = await waitUntil(
        async () => {
          const items = (await api<{ items: Run[] }>(s.url, "GET", `/api/v1/schedules/${id}/runs`)).body
            .items;
          return items.every((r) => r.status === "failed") ? items : null;
        },
        { timeoutMs: 20_000, what: "every run finished" },
      );
      const attempts = runs.reduce((n, r) => n + r.attempts, 0);
      assert.ok(attempts >= 3 * runs.length, `${attempts} attempts for ${runs.length} runs`);
      const metrics = await api<{ extra: { scheduleDriftMs: { start: { count: number } } } }>(
        s.url,
        "GET",
        "/api/v1/metrics",
      );
      assert.equal(metrics.body.extra.scheduleDriftMs.start.count, runs.length, metrics.text);
    } finally {
      await s.stop();
    }
  });
});
