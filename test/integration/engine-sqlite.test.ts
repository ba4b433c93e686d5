/**
 * The engine end to end in one process through the SDK, on a real SQLite file: ordering, retries with
 * backoff, timeouts, concurrency limits, cancellation, graceful stop and lease recovery.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { Job } from "../../src/core/job.ts";
import { Bosun, UnrecoverableError } from "../../src/index.ts";
import { tempDir, waitUntil } from "../helpers/wait.ts";

let dir: { path: string; remove: () => Promise<void> };
let bosun: Bosun;

beforeEach(async () => {
  dir = await tempDir();
  bosun = await Bosun.open({ data: dir.path, config: { leaseMs: 1000, reapIntervalMs: 100 } });
});
afterEach(async () => {
  await bosun.stop(0);
  await dir.remove();
});

const settled = (id: string, timeoutMs = 15_000) =>
  waitUntil(
    async () => {
      const j = await bosun.getJob(id);
      return ["completed", "failed", "cancelled"].includes(j.status) ? j : null;
    },
    { timeoutMs, what: `job ${id} to finish` },
  );

describe("engine on SQLite", () => {
  it("runs a handler and records its result and attempt", async () => {
    bosun.define("double", async (job) => (job.payload as { n: number }).n * 2);
    await bosun.start({ concurrency: 2 });
    const job = await bosun.enqueue({ type: "double", payload: { n: 21 } });
    const done = await settled(job.id);
    assert.equal(done.status, "completed");
    assert.equal(done.result, 42);
    const attempts = await bosun.runtime.store.listAttempts(job.id);
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0]!.status, "completed");
  });

  it("retries with growing gaps and fails after maxAttempts", async () => {
    bosun.define("flaky", async () => {
      throw new Error("always");
    });
    await bosun.start({ concurrency: 1 });
    const job = await bosun.enqueue({
      type: "flaky",
      maxAttempts: 3,
      backoff: { type: "exponential", delayMs: 100 },
    });
    const done = await settled(job.id);
    assert.equal(done.status, "failed");
    assert.equal(done.attempts, 3);
    assert.equal(done.error?.code, "HANDLER_ERROR");
    const attempts = await bosun.runtime.store.listAttempts(job.id);
    assert.deepEqual(
      attempts.map((a) => a.status),
      ["failed", "failed", "failed"],
    );
    const gap1 = attempts[1]!.startedAt - attempts[0]!.finishedAt;
    const gap2 = attempts[2]!.startedAt - attempts[1]!.finishedAt;
    assert.ok(gap1 >= 100, `first gap ${gap1}`);
    assert.ok(gap2 >= 200 && gap2 > gap1, `second gap ${gap2} after ${gap1}`);
  });

  it("fails at once on UnrecoverableError", async () => {
    bosun.define("fatal", async () => {
      throw new UnrecoverableError("bad input");
    });
    await bosun.start({ concurrency: 1 });
    const done = await settled((await bosun.enqueue({ type: "fatal", maxAttempts: 5 })).id);
    assert.equal(done.status, "failed");
    assert.equal(done.attempts, 1);
    assert.equal(done.error?.code, "UNRECOVERABLE");
  });

  it("runs higher priority first, then FIFO", async () => {
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    bosun.define("gate", () => gate);
    bosun.define("record", async (job) => void order.push((job.payload as { name: string }).name));
    await bosun.start({ concurrency: 1 });
    const first = await bosun.enqueue({ type: "gate" });
    await waitUntil(async () => (await bosun.getJob(first.id)).status === "running");
    const jobs: Job[] = [];
    for (const [name, priority] of [
      ["low1", 0],
      ["low2", 0],
      ["high", 10],
      ["mid", 5],
    ] as const)
      jobs.push(await bosun.enqueue({ type: "record", payload: { name }, priority }));
    release();
    for (const j of jobs) await settled(j.id);
    assert.deepEqual(order, ["high", "mid", "low1", "low2"]);
  });

  it("aborts an attempt at timeoutMs and retries it", async () => {
    await bosun.start({ concurrency: 1 });
    const t0 = Date.now();
    const job = await bosun.enqueue({
      type: "sleep",
      payload: { durationMs: 10_000 },
      timeoutMs: 300,
      maxAttempts: 2,
      backoff: { type: "fixed", delayMs: 100 },
    });
    const done = await settled(job.id);
    const elapsed = Date.now() - t0;
    assert.equal(done.status, "failed");
    assert.equal(done.attempts, 2);
    assert.equal(done.error?.code, "TIMEOUT");
    assert.ok(elapsed >= 700 && elapsed < 3000, `elapsed ${elapsed}`);
  });

  it("never runs more than the concurrency limit", async () => {
    let running = 0;
    let peak = 0;
    bosun.define("busy", async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 100));
      running--;
    });
    await bosun.start({ concurrency: 3 });
    const jobs = await bosun.enqueueMany(Array.from({ length: 10 }, () => ({ type: "busy" })));
    for (const j of jobs) assert.equal((await settled(j.id)).status, "completed");
    assert.equal(peak, 3);
  });

  it("cancels a running job: the handler is aborted and the status stays cancelled", async () => {
    let aborted = false;
    bosun.define(
      "wait",
      (_job, ctx) =>
        new Promise((_resolve, reject) =>
          ctx.signal.addEventListener("abort", () => {
            aborted = true;
            reject(ctx.signal.reason);
          }),
        ),
    );
    await bosun.start({ concurrency: 1 });
    const job = await bosun.enqueue({ type: "wait" });
    await waitUntil(async () => (await bosun.getJob(job.id)).status === "running");
    assert.equal((await bosun.cancel(job.id)).status, "cancelled");
    await waitUntil(() => aborted, { what: "handler abort" });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await bosun.getJob(job.id)).status, "cancelled");
    await assert.rejects(bosun.cancel(job.id), (e: Error & { code?: string }) => e.code === "INVALID_STATE");
    const retried = await bosun.retry(job.id);
    assert.equal(retried.status, "queued");
  });

  it("returns the existing job for a repeated idempotency key", async () => {
    bosun.define("noop", async () => null);
    const a = await bosun.enqueue({ type: "noop", idempotencyKey: "k1" });
    const b = await bosun.enqueue({ type: "noop", idempotencyKey: "k1" });
    assert.equal(a.id, b.id);
  });

  it("rejects unknown types and invalid payloads before storing anything", async () => {
    await assert.rejects(
      bosun.enqueue({ type: "nope" }),
      (e: Error & { code?: string }) => e.code === "UNKNOWN_JOB_TYPE",
    );
    await assert.rejects(
      bosun.enqueue({ type: "sleep", payload: { durationMs: -5 } }),
      (e: Error & { code?: string }) => e.code === "VALIDATION_FAILED",
    );
    const counts = await bosun.runtime.store.counts();
    assert.deepEqual(counts.byStatus, {});
  });

  it("starts delayed jobs after their delay", async () => {
    bosun.define("noop", async () => null);
    await bosun.start({ concurrency: 1 });
    const job = await bosun.enqueue({ type: "noop", delayMs: 300 });
    assert.equal(job.status, "scheduled");
    const done = await settled(job.id);
    assert.ok(done.startedAt! - job.createdAt >= 300, "started too early");
    assert.ok(done.startedAt! - job.createdAt < 1500, "started late");
  });

  it("fails and retries the attempts of a worker that stopped renewing its lease", async () => {
    bosun.define("noop", async () => "done");
    const job = await bosun.enqueue({ type: "noop", backoff: { type: "fixed", delayMs: 0 } });
    const [claim] = await bosun.runtime.engine.poll({
      workerId: "ghost",
      slots: 1,
      running: 0,
      capacity: 1,
      labels: {},
      queues: null,
      types: null,
      waitMs: 0,
    });
    assert.equal(claim?.id, job.id);
    await bosun.start({ concurrency: 1 });
    const done = await settled(job.id);
    assert.equal(done.status, "completed");
    const attempts = await bosun.runtime.store.listAttempts(job.id);
    assert.equal(attempts[0]!.error?.code, "LEASE_EXPIRED");
    assert.equal(attempts[0]!.workerId, "ghost");
  });

  it("stops gracefully: running attempts finish, nothing stays running", async () => {
    bosun.define("slow", async () => {
      await new Promise((r) => setTimeout(r, 300));
      return "ok";
    });
    await bosun.start({ concurrency: 2 });
    const jobs = await bosun.enqueueMany([{ type: "slow" }, { type: "slow" }, { type: "slow" }]);
    await waitUntil(async () => (await bosun.getJob(jobs[0]!.id)).status === "running");
    await bosun.runtime.stopPool(5000);
    const states = await Promise.all(jobs.map((j) => bosun.getJob(j.id)));
    assert.equal(states.filter((j) => j.status === "running").length, 0);
    assert.ok(states.filter((j) => j.status === "completed").length >= 2);
  });
});

describe("prefetch on SQLite", () => {
  /** Peak of jobs the database shows running while `jobs` run with concurrency 4. */
  async function peakRunning(durationMs: number, jobs: number): Promise<number> {
    bosun.define("timed", async () => {
      if (durationMs > 0) await new Promise((r) => setTimeout(r, durationMs));
      return null;
    });
    await bosun.start({ concurrency: 4 });
    const enqueued = await bosun.enqueueMany(Array.from({ length: jobs }, () => ({ type: "timed" })));
    let peak = 0;
    await waitUntil(
      async () => {
        const { byStatus } = await bosun.runtime.store.counts();
        peak = Math.max(peak, byStatus.running ?? 0);
        return (byStatus.completed ?? 0) === enqueued.length;
      },
      { timeoutMs: 30_000, intervalMs: 1, what: "all jobs to complete" },
    );
    return peak;
  }

  it("holds up to twice its capacity in extra claims while jobs are short", async () => {
    const peak = await peakRunning(0, 3_000);
    assert.ok(peak > 4, `short jobs are prefetched (peak running ${peak})`);
    assert.ok(peak <= 12, `never more than three times the capacity (peak running ${peak})`);
  });

  it("holds no extra claims while jobs are long", async () => {
    assert.ok((await peakRunning(120, 24)) <= 4);
  });
});
