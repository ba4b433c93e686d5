/**
 * The storage contract (src/store/store.ts) as tests. Every backend runs this suite unchanged; a backend
 * passes only if it behaves exactly like the others.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { newId } from "../../src/core/ids.ts";
import { type Claim, DEFAULT_BACKOFF, type NewJob } from "../../src/core/job.ts";
import type { WaitingWorker } from "../../src/core/placement.ts";
import type { Store } from "../../src/store/store.ts";

export type OpenStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

const T0 = 1_800_000_000_000;

export function newJob(over: Partial<NewJob> = {}): NewJob {
  return {
    id: newId(),
    queue: "default",
    type: "t",
    payload: { n: 1 },
    priority: 0,
    runAt: T0,
    maxAttempts: 3,
    backoff: { ...DEFAULT_BACKOFF, delayMs: 100, jitter: 0 },
    timeoutMs: null,
    idempotencyKey: null,
    owner: "alice",
    tags: [],
    constraints: {},
    scheduleId: null,
    scheduledTime: null,
    ...over,
  };
}

export const worker = (id: string, over: Partial<WaitingWorker> = {}): WaitingWorker => ({
  workerId: id,
  slots: 10,
  running: 0,
  capacity: 10,
  labels: {},
  queues: null,
  types: null,
  ...over,
});

export function storeConformance(name: string, open: OpenStore): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let queue = 0;
    // Each test works in its own queue, so tests do not see each other's jobs.
    const q = () => `q${++queue}`;
    const only = (queueName: string, over: Partial<WaitingWorker> = {}) =>
      worker("w1", { queues: [queueName], ...over });
    const claim = (workers: WaitingWorker[], now = T0, leaseMs = 1000) =>
      store.claim({ now, leaseMs, workers });

    before(async () => {
      ({ store, cleanup } = await open());
    });
    after(async () => {
      await store.close();
      await cleanup();
    });

    it("enqueues with defaults; a future runAt is scheduled", async () => {
      const queueName = q();
      const [now, later] = await store.enqueue(
        [newJob({ queue: queueName }), newJob({ queue: queueName, runAt: T0 + 5000 })],
        T0,
      );
      assert.equal(now!.created, true);
      assert.equal(now!.job.status, "queued");
      assert.deepEqual(now!.job.payload, { n: 1 });
      assert.equal(now!.job.attempts, 0);
      assert.equal(now!.job.owner, "alice");
      assert.equal(later!.job.status, "scheduled");
      assert.equal(later!.job.runAt, T0 + 5000);
      assert.equal(await store.promoteDue(T0 + 4999), 0);
      assert.ok((await store.nextRunAt())! <= T0 + 5000);
      assert.equal(await store.promoteDue(T0 + 5000), 1);
      assert.equal((await store.getJob(later!.job.id))!.status, "queued");
    });

    it("returns the existing job for a known idempotency key or schedule fire", async () => {
      const key = `k-${newId()}`;
      const [a] = await store.enqueue([newJob({ idempotencyKey: key })], T0);
      const [b] = await store.enqueue([newJob({ idempotencyKey: key })], T0);
      assert.equal(b!.created, false);
      assert.equal(b!.job.id, a!.job.id);
      const sched = `s-${newId()}`;
      const [f1] = await store.enqueue([newJob({ scheduleId: sched, scheduledTime: T0 })], T0);
      const [f2, f3] = await store.enqueue(
        [
          newJob({ scheduleId: sched, scheduledTime: T0 }),
          newJob({ scheduleId: sched, scheduledTime: T0 + 1000 }),
        ],
        T0,
      );
      assert.equal(f2!.created, false);
      assert.equal(f2!.job.id, f1!.job.id);
      assert.equal(f3!.created, true);
    });

    it("claims by priority, then first in first out, and leases the attempt", async () => {
      const queueName = q();
      const jobs = [
        newJob({ queue: queueName, priority: 0 }),
        newJob({ queue: queueName, priority: 5 }),
        newJob({ queue: queueName, priority: 0 }),
        newJob({ queue: queueName, priority: 9 }),
      ];
      await store.enqueue(jobs, T0);
      const claims = await claim([only(queueName, { slots: 4 })]);
      const order = [jobs[3]!, jobs[1]!, jobs[0]!, jobs[2]!].map((j) => j.id);
      assert.deepEqual(
        claims.map((c) => c.id).sort((a, b) => order.indexOf(a) - order.indexOf(b)),
        order,
      );
      const first = await claim([only(queueName, { slots: 1 })]);
      assert.equal(first.length, 0, "everything is claimed");
      const c = claims.find((x) => x.id === jobs[3]!.id)!;
      assert.equal(c.attempt, 1);
      assert.equal(c.workerId, "w1");
      assert.equal(c.leaseExpiresAt, T0 + 1000);
      const stored = await store.getJob(c.id);
      assert.deepEqual([stored!.status, stored!.workerId, stored!.attempts], ["running", "w1", 1]);
      // Priority order of a smaller claim: the highest first.
      const q2 = q();
      await store.enqueue([newJob({ queue: q2, priority: 1 }), newJob({ queue: q2, priority: 7 })], T0);
      const [top] = await claim([only(q2, { slots: 1 })]);
      assert.equal((await store.getJob(top!.id))!.priority, 7);
    });

    it("places jobs on the least loaded waiting worker that satisfies constraints", async () => {
      const queueName = q();
      const gpu = newJob({ queue: queueName, constraints: { gpu: "true" } });
      const plain = [1, 2, 3, 4].map(() => newJob({ queue: queueName }));
      const nobody = newJob({ queue: queueName, constraints: { arch: "riscv" } });
      await store.enqueue([nobody, gpu, ...plain], T0);
      const claims = await claim([
        worker("a", { queues: [queueName], slots: 4, capacity: 4 }),
        worker("b", { queues: [queueName], slots: 4, capacity: 4, labels: { gpu: "true" } }),
      ]);
      const byId = new Map(claims.map((c) => [c.id, c.workerId]));
      assert.equal(byId.get(gpu.id), "b");
      assert.equal(byId.has(nobody.id), false, "unsatisfiable constraints are skipped");
      assert.equal(claims.length, 5, "the unsatisfiable job does not block the others");
      const perWorker = { a: 0, b: 0 } as Record<string, number>;
      for (const c of claims) perWorker[c.workerId]!++;
      assert.deepEqual(
        perWorker,
        { a: 3, b: 2 },
        "ties go to the first waiter; loads never differ by more than one",
      );
      assert.equal((await store.getJob(nobody.id))!.status, "queued");
    });

    it("filters claims by the worker's types and queues", async () => {
      const queueName = q();
      const [a, b] = await store.enqueue(
        [newJob({ queue: queueName, type: "x" }), newJob({ queue: queueName, type: "y" })],
        T0,
      );
      const claims = await claim([only(queueName, { types: ["y"] })]);
      assert.deepEqual(
        claims.map((c) => c.id),
        [b!.job.id],
      );
      assert.deepEqual(await claim([worker("w1", { queues: ["elsewhere"] })]), []);
      assert.equal((await store.getJob(a!.job.id))!.status, "queued");
    });

    it("completes a leased attempt once; stale or repeated reports change nothing", async () => {
      const queueName = q();
      await store.enqueue([newJob({ queue: queueName })], T0);
      const [c] = await claim([only(queueName)]);
      const lease = { jobId: c!.id, lease: c!.lease, attempt: c!.attempt, workerId: c!.workerId };
      const [wrong] = await store.complete([{ ...lease, lease: "forged", result: 1 }], T0 + 10);
      assert.equal(wrong!.ok, false);
      const [ok] = await store.complete([{ ...lease, result: { v: 42 }, exitCode: 0 }], T0 + 20);
      assert.equal(ok!.ok, true);
      if (ok!.ok) assert.equal(ok!.job.status, "completed");
      const [again] = await store.complete([{ ...lease, result: { v: 43 } }], T0 + 30);
      assert.equal(again!.ok, false);
      const job = await store.getJob(c!.id);
      assert.deepEqual(job!.result, { v: 42 });
      assert.equal(job!.finishedAt, T0 + 20);
      const attempts = await store.listAttempts(c!.id);
      assert.equal(attempts.length, 1);
      assert.deepEqual(
        [
          attempts[0]!.status,
          attempts[0]!.startedAt,
          attempts[0]!.finishedAt,
          attempts[0]!.durationMs,
          attempts[0]!.exitCode,
        ],
        ["completed", T0, T0 + 20, 20, 0],
      );
    });

    it("retries a failed attempt after its backoff and fails the job after maxAttempts", async () => {
      const queueName = q();
      await store.enqueue([newJob({ queue: queueName, maxAttempts: 2 })], T0);
      const [c1] = await claim([only(queueName)]);
      const err = { code: "BOOM", message: "boom" };
      assert.ok(c1);
      const [f1] = await store.fail(
        [
          {
            jobId: c1!.id,
            lease: c1!.lease,
            attempt: 1,
            workerId: "w1",
            error: err,
            retryable: true,
            exitCode: 3,
          },
        ],
        T0 + 10,
      );
      assert.ok(f1!.ok && f1!.job.status === "scheduled" && f1!.job.runAt === T0 + 110);
      assert.equal(await store.promoteDue(T0 + 50), 0, "not before the backoff");
      assert.equal(await store.promoteDue(T0 + 110), 1);
      const [c2] = await claim([only(queueName)], T0 + 110);
      assert.equal(c2!.attempt, 2);
      const [f2] = await store.fail(
        [{ jobId: c2!.id, lease: c2!.lease, attempt: 2, workerId: "w1", error: err, retryable: true }],
        T0 + 200,
      );
      assert.ok(f2!.ok && f2!.job.status === "failed");
      const job = await store.getJob(c1!.id);
      assert.deepEqual(job!.error, err);
      assert.equal(job!.finishedAt, T0 + 200);
      const attempts = await store.listAttempts(c1!.id);
      assert.deepEqual(
        attempts.map((a) => [a.attempt, a.status, a.exitCode]),
        [
          [1, "failed", 3],
          [2, "failed", null],
        ],
      );
    });

    it("fails at once when the failure is not retryable", async () => {
      const queueName = q();
      await store.enqueue([newJob({ queue: queueName, maxAttempts: 5 })], T0);
      const [c] = await claim([only(queueName)]);
      const [f] = await store.fail(
        [
          {
            jobId: c!.id,
            lease: c!.lease,
            attempt: 1,
            workerId: "w1",
            error: { code: "X", message: "x" },
            retryable: false,
          },
        ],
        T0,
      );
      assert.ok(f!.ok && f!.job.status === "failed");
    });

    it("releases a lease without spending the attempt", async () => {
      const queueName = q();
      await store.enqueue([newJob({ queue: queueName })], T0);
      const [c] = await claim([only(queueName)]);
      const [r] = await store.release(
        [{ jobId: c!.id, lease: c!.lease, attempt: 1, workerId: "w1" }],
        T0 + 5,
      );
      assert.ok(r!.ok && r!.job.status === "queued" && r!.job.attempts === 0);
      const [again] = await claim([only(queueName)], T0 + 6);
      assert.equal(again!.attempt, 1);
    });

    it("names each claim by its own token: a released claim's reports are stale after the next claim", async () => {
      const queueName = q();
      await store.enqueue([newJob({ queue: queueName })], T0);
      const [first] = await claim([only(queueName)]);
      await store.release([{ jobId: first!.id, lease: first!.lease, attempt: 1, workerId: "w1" }], T0 + 1);
      const [second] = await claim([only(queueName)], T0 + 2);
      // Same job, same attempt number, same worker: only the token tells the two claims apart.
      assert.deepEqual([second!.id, second!.attempt, second!.workerId], [first!.id, 1, "w1"]);
      assert.notEqual(second!.lease, first!.lease);
      const stale = { jobId: first!.id, lease: first!.lease, attempt: 1, workerId: "w1" };
      assert.deepEqual(await store.complete([{ ...stale, result: "old" }], T0 + 3), [
        { ok: false, jobId: first!.id },
      ]);
      assert.deepEqual(
        await store.heartbeat("w1", [{ jobId: first!.id, lease: first!.lease }], T0 + 9, T0 + 3),
        [first!.id],
      );
      const [ok] = await store.complete([{ ...stale, lease: second!.lease, result: "new" }], T0 + 4);
      assert.equal(ok!.ok, true);
      assert.equal((await store.getJob(first!.id))!.result, "new");
    });

    it("holds a lease for the worker it went to: its token named by another worker changes nothing", async () => {
      const queueName = q();
      await store.enqueue(
        [newJob({ queue: queueName }), newJob({ queue: queueName }), newJob({ queue: queueName })],
        T0,
      );
      const claims = await claim([only(queueName)]);
      assert.equal(claims.length, 3);
      const [a, b, c] = claims as [Claim, Claim, Claim];
      const by = (cl: Claim, workerId: string) => ({
        jobId: cl.id,
        lease: cl.lease,
        attempt: cl.attempt,
        workerId,
      });
      assert.deepEqual(await store.complete([{ ...by(a, "intruder"), result: "stolen" }], T0 + 1), [
        { ok: false, jobId: a.id },
      ]);
      const [failed] = await store.fail(
        [{ ...by(b, "intruder"), error: { code: "X", message: "no" }, retryable: false }],
        T0 + 1,
      );
      assert.equal(failed!.ok, false);
      assert.deepEqual(await store.release([by(c, "intruder")], T0 + 1), [{ ok: false, jobId: c.id }]);
      for (const cl of [a, b, c]) {
        const job = await store.getJob(cl.id);
        assert.deepEqual([job!.status, job!.workerId, job!.attempts], ["running", "w1", 1]);
      }
      // The holder's own reports still apply.
      const [done] = await store.complete([{ ...by(a, "w1"), result: 1 }], T0 + 2);
      assert.equal(done!.ok, true);
    });

    it("renews a worker's leases and reports the jobs it no longer holds", async () => {
      const queueName = q();
      await store.enqueue([newJob({ queue: queueName }), newJob({ queue: queueName })], T0);
      const [a, b] = await claim([only(queueName)]);
      await store.cancel(b!.id, T0 + 1);
      const lost = await store.heartbeat(
        "w1",
        [a!, b!].map((c) => ({ jobId: c.id, lease: c.lease })),
        T0 + 60_000,
        T0 + 2,
      );
      assert.deepEqual(lost, [b!.id]);
      assert.equal((await store.getJob(a!.id))!.leaseExpiresAt, T0 + 60_000);
    });

    it("reaps expired leases as failed attempts and retries them; reaps a dead worker's jobs at once", async () => {
      const queueName = q();
      await store.enqueue(
        [newJob({ queue: queueName }), newJob({ queue: queueName, backoff: { type: "fixed", delayMs: 0 } })],
        T0,
      );
      const claims = await claim([worker("ghost", { queues: [queueName], slots: 1 })]);
      const [other] = await claim([worker("dead", { queues: [queueName], slots: 1 })]);
      const reaped = await store.reapExpired(T0 + 1001, 100);
      assert.ok(reaped.some((j) => j.id === claims[0]!.id && j.status === "scheduled"));
      const attempts = await store.listAttempts(claims[0]!.id);
      assert.equal(attempts[0]!.error?.code, "LEASE_EXPIRED");
      assert.equal(attempts[0]!.workerId, "ghost");
      // The other lease (worker "dead") is also expired by now; reaping it explicitly still works once.
      const direct = await store.reapWorkers(["dead"], "WORKER_LOST", T0 + 1002);
      assert.equal(direct.length + (reaped.some((j) => j.id === other!.id) ? 1 : 0), 1);
    });

    it("records progress of the current attempt only", async () => {
      const queueName = q();
      await store.enqueue([newJob({ queue: queueName })], T0);
      const [c] = await claim([only(queueName)]);
      await store.setProgress(
        [
          { jobId: c!.id, lease: c!.lease, progress: 40 },
          { jobId: c!.id, lease: "an-old-claim", progress: 99 },
        ],
        T0,
      );
      assert.equal((await store.getJob(c!.id))!.progress, 40);
    });

    it("cancels queued and running jobs, refuses terminal ones, and retries failed ones", async () => {
      const queueName = q();
      const [queued, running] = await store.enqueue(
        [newJob({ queue: queueName }), newJob({ queue: queueName, priority: 9 })],
        T0,
      );
      const [runningClaim] = await claim([only(queueName, { slots: 1 })]);
      const c1 = await store.cancel(queued!.job.id, T0 + 1);
      assert.ok(c1.ok && c1.job.status === "cancelled");
      const c2 = await store.cancel(running!.job.id, T0 + 2);
      assert.ok(c2.ok && c2.job.status === "cancelled");
      assert.deepEqual(
        (await store.listAttempts(running!.job.id)).map((a) => a.status),
        ["cancelled"],
      );
      const c3 = await store.cancel(running!.job.id, T0 + 3);
      assert.ok(!c3.ok && c3.reason === "invalid_state");
      const c4 = await store.cancel("nope", T0);
      assert.ok(!c4.ok && c4.reason === "not_found");
      const r1 = await store.retry(running!.job.id, T0 + 4);
      assert.ok(r1.ok && r1.job.status === "queued" && r1.job.maxAttempts === 1 + 3);
      const r2 = await store.retry(running!.job.id, T0 + 5);
      assert.ok(!r2.ok && r2.reason === "invalid_state");
      // A late report from the cancelled attempt changes nothing.
      const [late] = await store.complete(
        [{ jobId: running!.job.id, lease: runningClaim!.lease, attempt: 1, workerId: "w1", result: 1 }],
        T0 + 6,
      );
      assert.equal(late!.ok, false);
    });

    it("lists with filters, newest first, with keyset pagination", async () => {
      const queueName = q();
      const made = await store.enqueue(
        [1, 2, 3, 4, 5].map((i) =>
          newJob({
            queue: queueName,
            type: i % 2 ? "odd" : "even",
            owner: i === 5 ? "bob" : "alice",
            scheduleId: i === 4 ? "s1" : null,
            scheduledTime: i === 4 ? T0 : null,
          }),
        ),
        T0,
      );
      const ids = made.map((m) => m.job.id);
      const page1 = await store.listJobs({ queue: queueName, limit: 2 });
      assert.deepEqual(
        page1.map((j) => j.id),
        [ids[4], ids[3]],
      );
      const page2 = await store.listJobs({ queue: queueName, limit: 2, beforeSeq: page1[1]!.seq });
      assert.deepEqual(
        page2.map((j) => j.id),
        [ids[2], ids[1]],
      );
      assert.deepEqual(
        (await store.listJobs({ queue: queueName, type: "even", limit: 10 })).map((j) => j.id),
        [ids[3], ids[1]],
      );
      assert.deepEqual(
        (await store.listJobs({ queue: queueName, owner: "bob", limit: 10 })).map((j) => j.id),
        [ids[4]],
      );
      assert.deepEqual(
        (await store.listJobs({ queue: queueName, scheduleId: "s1", limit: 10 })).map((j) => j.id),
        [ids[3]],
      );
      await store.cancel(ids[0]!, T0);
      assert.deepEqual(
        (await store.listJobs({ queue: queueName, status: ["cancelled"], limit: 10 })).map((j) => j.id),
        [ids[0]],
      );
      assert.equal(
        (await store.listJobs({ queue: queueName, status: ["queued", "cancelled"], limit: 10 })).length,
        5,
      );
      assert.deepEqual(
        (await store.getJobs([ids[0]!, ids[1]!])).map((j) => j.id).sort(),
        [ids[0], ids[1]].sort(),
      );
      const counts = await store.counts();
      assert.deepEqual(counts.byQueue[queueName], { queued: 4, cancelled: 1 });
    });

    it("appends and reads logs in order, after a given seq", async () => {
      const id = newId();
      await store.appendLogs([
        { jobId: id, at: T0, stream: "stdout", data: "a\n" },
        { jobId: id, at: T0, stream: "stderr", data: "b\n" },
      ]);
      await store.appendLogs([{ jobId: id, at: T0 + 1, stream: "stdout", data: "c\n" }]);
      const all = await store.readLogs(id, 0, 100);
      assert.deepEqual(
        all.map((c) => c.data),
        ["a\n", "b\n", "c\n"],
      );
      assert.equal(all[1]!.stream, "stderr");
      const rest = await store.readLogs(id, all[0]!.seq, 100);
      assert.deepEqual(
        rest.map((c) => c.data),
        ["b\n", "c\n"],
      );
    });

    it("never hands one job to two concurrent claimers", async () => {
      const queueName = q();
      await store.enqueue(
        Array.from({ length: 300 }, () => newJob({ queue: queueName })),
        T0,
      );
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (async () => {
            const got: string[] = [];
            for (;;) {
              const c = await claim([worker(`c${i}`, { queues: [queueName], slots: 7 })]);
              if (c.length === 0) return got;
              got.push(...c.map((x) => x.id));
            }
          })(),
        ),
      );
      const all = results.flat();
      assert.equal(all.length, 300);
      assert.equal(new Set(all).size, 300);
    });

    // Last: the unplaceable rows it leaves behind stay queued.
    it("skips any number of jobs no waiting worker can take (10,000 ahead), for every kind of worker", async () => {
      const queueName = q();
      const mars = { zone: "mars" };
      for (let i = 0; i < 10; i++)
        await store.enqueue(
          Array.from({ length: 1000 }, () => newJob({ queue: queueName, constraints: mars })),
          T0,
        );
      const plain = await store.enqueue(
        Array.from({ length: 3 }, () => newJob({ queue: queueName })),
        T0,
      );
      const earth = await store.enqueue([newJob({ queue: queueName, constraints: { zone: "earth" } })], T0);
      // One worker without labels: only the plain jobs fit.
      const pool = await claim([only(queueName, { workerId: "pool", slots: 2 })]);
      assert.deepEqual(
        pool.map((c) => c.id).sort(),
        plain
          .slice(0, 2)
          .map((o) => o.job.id)
          .sort(),
      );
      // One labelled worker: the earth job, behind the 10,000 mars jobs.
      const labelled = await claim([only(queueName, { workerId: "e", slots: 5, labels: { zone: "earth" } })]);
      assert.deepEqual(labelled.map((c) => c.id).sort(), [plain[2]!.job.id, earth[0]!.job.id].sort());
      // Several workers with different fits, and a worker whose only fitting jobs it cannot all take.
      const gpu = await store.enqueue(
        Array.from({ length: 4 }, () => newJob({ queue: queueName, constraints: { gpu: "1" } })),
        T0,
      );
      const after = await store.enqueue(
        Array.from({ length: 3 }, () => newJob({ queue: queueName })),
        T0,
      );
      const claims = await claim([
        only(queueName, { workerId: "g", slots: 1, capacity: 1, labels: { gpu: "1" } }),
        only(queueName, { workerId: "p", slots: 5, capacity: 5, types: ["t"] }),
      ]);
      const byWorker = (id: string) =>
        claims
          .filter((c) => c.workerId === id)
          .map((c) => c.id)
          .sort();
      assert.deepEqual(byWorker("g"), [gpu[0]!.job.id]);
      assert.deepEqual(byWorker("p"), after.map((o) => o.job.id).sort());
      const [stillMars] = await store.listJobs({ queue: queueName, status: ["queued"], limit: 1 });
      assert.equal(stillMars!.status, "queued");
    });
  });
}
