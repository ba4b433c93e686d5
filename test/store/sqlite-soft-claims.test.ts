/**
 * Soft claims (src/store/sqlite/soft-claims.ts) seen from outside: what the file holds (read through a
 * second connection, as another reader of the file would), what the store reports, and what SQL on the
 * store's own connection sees (the `jobs` view, jobs-view.ts). A real crash of a process holding claims,
 * and why no second store can take them, are in sqlite-lock.test.ts; held-claims-model.test.ts compares
 * every read with a store that writes its claims.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, it } from "node:test";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { tempDir, waitUntil } from "../helpers/wait.ts";
import { newJob, worker } from "./conformance.ts";

const T0 = 1_800_000_000_000;

type Row = Record<string, unknown>;
/** The fields named (space-separated) of a row or object, in order: one assertion, several columns. */
const pick = (o: object, keys: string) => keys.split(" ").map((k) => (o as Row)[k]);

interface Opened {
  store: SqliteStore;
  file: string;
  /** The job's row as the file holds it, read through a second, read-only connection. */
  row(id: string): Row;
  attemptRows(id: string): Row[];
}

/** Runs a test on a store over a fresh file; a second connection sees only what the store wrote. */
async function withStore(softClaimMs: number, test: (s: Opened) => Promise<void>) {
  const dir = await tempDir();
  const file = join(dir.path, "bosun.db");
  const store = new SqliteStore({ file, softClaimMs });
  const reader = new DatabaseSync(file, { readOnly: true });
  try {
    await test({
      store,
      file,
      row: (id) => reader.prepare("SELECT * FROM jobs WHERE id = ?").get(id) as Row,
      attemptRows: (id) => reader.prepare("SELECT * FROM job_attempts WHERE job_id = ?").all(id) as Row[],
    });
  } finally {
    reader.close();
    await store.close();
    await dir.remove();
  }
}

const jobs = (n: number, over: Parameters<typeof newJob>[0]) => Array.from({ length: n }, () => newJob(over));
const claimIn = (store: SqliteStore, queue: string, slots = 10, now = T0, workerId = "w1") =>
  store.claim({ now, leaseMs: 1000, workers: [worker(workerId, { queues: [queue], slots })] });

describe("SQLite soft claims", () => {
  it("keeps a claim out of the file until the window has passed, then writes it as a lease", () =>
    withStore(100, async (s) => {
      const [j] = await s.store.enqueue([newJob({ queue: "a" })], T0);
      const claimedAt = performance.now();
      const [c] = await claimIn(s.store, "a");
      assert.equal(s.row(c!.id).status, "queued", "another reader sees nothing yet");
      const seen = await s.store.getJob(j!.job.id);
      assert.deepEqual([seen!.status, seen!.attempts, seen!.workerId], ["running", 1, "w1"]);
      const r = await waitUntil(() => (s.row(c!.id).status === "running" ? s.row(c!.id) : null), {
        timeoutMs: 2000,
        what: "the claim to be written",
      });
      assert.ok(performance.now() - claimedAt >= 100, "not written before the window");
      assert.deepEqual(pick(r, "attempts worker_id started_at lease_expires_at"), [1, "w1", T0, T0 + 1000]);
      // The written lease completes through the ordinary path; the final attempt comes from the row.
      const [done] = await s.store.complete([{ ...lease(c!), result: 1, exitCode: 4 }], T0 + 50);
      assert.ok(done!.ok && done!.job.status === "completed");
      assert.equal(s.row(c!.id).status, "completed");
      const attempts = await s.store.listAttempts(c!.id);
      assert.deepEqual(
        attempts.map((a) => [a.attempt, a.status, a.exitCode, a.startedAt, a.finishedAt]),
        [[1, "completed", 4, T0, T0 + 50]],
      );
    }));

  it("completes a held claim with one write: queued to completed, the attempt kept on the job row", () =>
    withStore(60_000, async (s) => {
      await s.store.enqueue([newJob({ queue: "a" })], T0);
      const [c] = await claimIn(s.store, "a");
      assert.equal(s.row(c!.id).status, "queued");
      const [out] = await s.store.complete(
        [{ ...lease(c!), result: { v: 1 }, exitCode: 7, httpStatus: 201 }],
        T0 + 20,
      );
      assert.ok(out!.ok && out!.job.status === "completed" && out!.job.startedAt === T0);
      const r = s.row(c!.id);
      assert.deepEqual(pick(r, "status attempts worker_id started_at"), ["completed", 1, "w1", T0]);
      assert.deepEqual(pick(r, "finished_at exit_code http_status result"), [T0 + 20, 7, 201, '{"v":1}']);
      assert.equal(r.lease_expires_at, null);
      assert.deepEqual(s.attemptRows(c!.id), [], "a success is not a job_attempts row");
      const attempts = await s.store.listAttempts(c!.id);
      assert.deepEqual(
        attempts.map((a) => pick(a, "attempt status startedAt durationMs workerId exitCode httpStatus")),
        [[1, "completed", T0, 20, "w1", 7, 201]],
      );
    }));

  it("lists and counts held jobs as running, with status filters and keyset pagination", () =>
    withStore(60_000, async (s) => {
      const made = await s.store.enqueue(jobs(5, { queue: "a" }), T0);
      const ids = made.map((e) => e.job.id);
      await s.store.enqueue([newJob({ queue: "b" }), newJob({ queue: "b" })], T0);
      // Oldest first at equal priority: ids 0–2 are held, 3–4 stay queued. One job of b is held too.
      const held = await claimIn(s.store, "a", 3);
      assert.deepEqual(held.map((c) => c.id).sort(), ids.slice(0, 3).sort());
      assert.equal((await claimIn(s.store, "b", 1, T0, "w2")).length, 1);
      // Progress writes ids[1]'s claim: the list must merge file rows and held ones in seq order.
      const second = held.find((c) => c.id === ids[1])!;
      await s.store.setProgress([{ jobId: second.id, lease: second.lease, progress: 10 }], T0);
      assert.equal(s.row(ids[1]!).status, "running");
      assert.equal(s.row(ids[0]!).status, "queued");

      const list = (q: Parameters<SqliteStore["listJobs"]>[0]) => s.store.listJobs(q);
      const running = await list({ queue: "a", status: ["running"], limit: 10 });
      assert.deepEqual(
        running.map((j) => [j.id, j.status, j.attempts, j.workerId]),
        [2, 1, 0].map((i) => [ids[i], "running", 1, "w1"]),
      );
      assert.deepEqual(
        (await list({ queue: "a", status: ["queued"], limit: 10 })).map((j) => j.id),
        [ids[4], ids[3]],
      );
      assert.deepEqual(
        (await list({ queue: "a", status: ["queued", "running"], limit: 10 })).map((j) => j.id),
        [4, 3, 2, 1, 0].map((i) => ids[i]),
      );
      // One page at a time, newest first, through held and written rows alike (bounded: a cursor that
      // does not move must fail the test, not hang it).
      const pages: string[] = [];
      let before: number | undefined;
      for (let n = 0; n < 5; n++) {
        const page = await list({ queue: "a", status: ["running"], limit: 1, beforeSeq: before });
        if (page.length === 0) break;
        pages.push(page[0]!.id);
        before = page[0]!.seq;
      }
      assert.deepEqual(pages, [ids[2], ids[1], ids[0]]);

      const counts = await s.store.counts();
      assert.deepEqual(counts.byQueue.a, { queued: 2, running: 3 });
      assert.deepEqual(counts.byQueue.b, { queued: 1, running: 1 });
      assert.deepEqual(counts.byStatus, { queued: 3, running: 4 });
    }));

  it("releases, fails and cancels held claims as the running jobs they are", () =>
    withStore(60_000, async (s) => {
      // Release forgets the claim: the attempt is not spent and the job is claimable again.
      await s.store.enqueue([newJob({ queue: "rel" })], T0);
      const [c1] = await claimIn(s.store, "rel");
      const [r] = await s.store.release([lease(c1!)], T0 + 1);
      assert.ok(r!.ok && r!.job.status === "queued" && r!.job.attempts === 0);
      const after = await s.store.getJob(c1!.id);
      assert.deepEqual([after!.status, after!.attempts, after!.workerId], ["queued", 0, null]);
      assert.equal((await claimIn(s.store, "rel", 1, T0 + 2))[0]!.attempt, 1);

      // A failure writes the claim first, so the failed attempt has its start and worker.
      await s.store.enqueue([newJob({ queue: "fail" })], T0);
      const [c2] = await claimIn(s.store, "fail");
      const err = { code: "BOOM", message: "boom" };
      const [f] = await s.store.fail([{ ...lease(c2!), error: err, retryable: true, exitCode: 3 }], T0 + 10);
      assert.ok(f!.ok && f!.job.status === "scheduled" && f!.job.attempts === 1);
      const [row] = s.attemptRows(c2!.id);
      assert.deepEqual(pick(row!, "attempt status started_at finished_at worker_id exit_code"), [
        1,
        "failed",
        T0,
        T0 + 10,
        "w1",
        3,
      ]);
      assert.equal(s.row(c2!.id).attempts, 1);

      // Cancel writes the claim first, so the attempt is recorded as cancelled, not lost.
      await s.store.enqueue([newJob({ queue: "cancel" })], T0);
      const [c3] = await claimIn(s.store, "cancel");
      const out = await s.store.cancel(c3!.id, T0 + 5);
      assert.ok(out.ok && out.job.status === "cancelled");
      assert.deepEqual([out.job.workerId, out.job.startedAt, out.job.attempts], ["w1", T0, 1]);
      const attempts = await s.store.listAttempts(c3!.id);
      assert.deepEqual(
        attempts.map((a) => [a.attempt, a.status, a.workerId, a.startedAt, a.finishedAt, a.error?.code]),
        [[1, "cancelled", "w1", T0, T0 + 5, "CANCELLED"]],
      );
    }));

  // Both read the row with statements of their own, not through getJob: the view serves them too.
  it("answers with a held job as running when an enqueue or a retry finds it", () =>
    withStore(60_000, async (s) => {
      await s.store.enqueue([newJob({ queue: "a", idempotencyKey: "k" })], T0);
      const [c] = await claimIn(s.store, "a");
      const [again] = await s.store.enqueue([newJob({ queue: "a", idempotencyKey: "k" })], T0 + 1);
      assert.equal(again!.created, false);
      assert.deepEqual([again!.job.status, again!.job.attempts, again!.job.workerId], ["running", 1, "w1"]);
      const r = await s.store.retry(c!.id, T0 + 2);
      assert.ok(!r.ok && r.reason === "invalid_state");
      assert.equal(r.job?.status, "running");
    }));

  it("shows held claims to any SQL read on the store's connection, and refuses writes to the view", () =>
    withStore(60_000, async (s) => {
      const made = await s.store.enqueue(jobs(3, { queue: "a", owner: "ann" }), T0);
      const [c] = await claimIn(s.store, "a", 1);
      assert.equal(c!.id, made[0]!.job.id);
      assert.equal(s.row(c!.id).status, "queued", "the file has no claim yet");
      // A query as a new feature would write it (running jobs per owner), knowing nothing of held claims.
      const running = s.store.db
        .prepare("SELECT owner, COUNT(*) AS n FROM jobs WHERE status = 'running' GROUP BY owner")
        .all();
      assert.deepEqual(
        running.map((r) => [r.owner, r.n]),
        [["ann", 1]],
      );
      const row = s.store.db.prepare("SELECT * FROM jobs WHERE id = ?").get(c!.id)!;
      assert.deepEqual(pick(row, "status attempts worker_id started_at lease_expires_at lease_token"), [
        "running",
        1,
        "w1",
        T0,
        T0 + 1000,
        c!.lease,
      ]);
      // The file's rows are main.jobs; a write that says `jobs` fails before it runs.
      assert.equal(
        s.store.db.prepare("SELECT status FROM main.jobs WHERE id = ?").get(c!.id)!.status,
        "queued",
      );
      assert.throws(
        () => s.store.db.prepare("UPDATE jobs SET status = 'failed' WHERE id = ?"),
        /cannot modify jobs because it is a view/,
      );
      // Once completed, the row is the file's again: nothing overlays it.
      await s.store.complete([{ ...lease(c!), result: null }], T0 + 5);
      assert.equal(s.store.db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE status = 'running'").get()!.n, 0);
      assert.equal(s.store.db.prepare("SELECT COUNT(*) AS n FROM jobs").get()!.n, 3);
    }));

  // Claims read the ready index from a floor past the held rows (ready-floor.ts). Every path that
  // queues a row ahead of that floor must drop it, or claims skip the row and break priority/FIFO order.
  it("keeps claim order while claims are held: released, urgent, promoted and retried jobs come first", () =>
    withStore(60_000, async (s) => {
      const take = async (now = T0) => (await claimIn(s.store, "a", 1, now))[0]!;
      const backoff = { type: "fixed" as const, delayMs: 0 };
      const made = await s.store.enqueue(jobs(6, { queue: "a", backoff }), T0);
      const ids = made.map((e) => e.job.id);
      const first = await take();
      assert.equal(first.id, ids[0]);
      await s.store.release([lease(first)], T0);
      assert.equal((await take()).id, ids[0], "a released job is first again");
      assert.equal((await take()).id, ids[1]);
      const [urgent] = await s.store.enqueue([newJob({ queue: "a", priority: 5 })], T0);
      assert.equal((await take()).id, urgent!.job.id, "a higher priority goes before the held rows' floor");
      const [later] = await s.store.enqueue([newJob({ queue: "a", priority: 5, runAt: T0 + 10 })], T0);
      assert.equal((await take()).id, ids[2]);
      assert.equal(await s.store.promoteDue(T0 + 10), 1);
      assert.equal((await take(T0 + 10)).id, later!.job.id, "a promoted job is claimable");
      const c3 = await take();
      assert.equal(c3.id, ids[3]);
      assert.ok((await s.store.cancel(ids[3]!, T0)).ok);
      assert.ok((await s.store.retry(ids[3]!, T0)).ok);
      const again = await take();
      assert.deepEqual([again.id, again.attempt], [ids[3], 2], "a retried job is first again");
      const err = { code: "X", message: "x" };
      const [f] = await s.store.fail([{ ...lease(again), error: err, retryable: true }], T0);
      assert.ok(f!.ok && f!.job.status === "queued", "no backoff: queued again at once");
      assert.deepEqual(pick(await take(), "id attempt"), [ids[3], 3]);
      assert.equal((await take()).id, ids[4]);
    }));
});

function lease(c: { id: string; lease: string; attempt: number; workerId: string }) {
  return { jobId: c.id, lease: c.lease, attempt: c.attempt, workerId: c.workerId };
}
