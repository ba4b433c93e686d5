/**
 * One store per SQLite file, enforced by the operating system (src/store/sqlite/store-lock.ts): a second
 * store on a held file fails at once with DATA_DIR_LOCKED — in this process, and from another process
 * even while the holder's event loop is stalled — and a holder killed with kill -9 never blocks the next
 * open, which reports the unclean close. The old guard was a 300 ms timing window: a second store waited,
 * then claimed the jobs a stalled holder still held in memory.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { DatabaseSync } from "node:sqlite";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { BosunError } from "../../src/core/errors.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { tempDir } from "../helpers/wait.ts";
import { newJob, worker } from "./conformance.ts";

const T0 = 1_800_000_000_000;
const CHILD = join(import.meta.dirname, "../helpers/sqlite-claim-child.ts");
const PROBE = join(import.meta.dirname, "../helpers/sqlite-open-probe.ts");
const run = promisify(execFile);

const claimIn = (store: SqliteStore, queue: string, slots = 10, now = T0, workerId = "w1") =>
  store.claim({ now, leaseMs: 60_000, workers: [worker(workerId, { queues: [queue], slots })] });

/** Opening `file` must fail with DATA_DIR_LOCKED naming its folder and `pid`. */
function assertLocked(file: string, folder: string, pid: number): void {
  assert.throws(
    () => new SqliteStore({ file, softClaimMs: 60_000 }),
    (err: unknown) => {
      assert.ok(err instanceof BosunError, String(err));
      assert.equal(err.code, "DATA_DIR_LOCKED");
      assert.ok(err.message.includes(folder), err.message);
      assert.ok(err.message.includes(String(pid)), err.message);
      assert.equal((err.details as { pid: number }).pid, pid);
      return true;
    },
  );
}

/** The claim child (test/helpers/sqlite-claim-child.ts): its JSON lines, in order, and its exit. */
/** The same, asked by a process of its own (test/helpers/sqlite-open-probe.ts), as a second bosun start. */
async function assertLockedFromAnotherProcess(file: string, folder: string, pid: number): Promise<void> {
  const { stdout } = await run(process.execPath, [PROBE, file]);
  const answer = JSON.parse(stdout) as { code?: string; message?: string; details?: { pid: number } };
  assert.equal(answer.code, "DATA_DIR_LOCKED", stdout);
  assert.ok(answer.message!.includes(folder), answer.message);
  assert.ok(answer.message!.includes(String(pid)), answer.message);
  assert.equal(answer.details?.pid, pid);
}

function startChild(args: string[]) {
  const proc: ChildProcess = spawn(process.execPath, [CHILD, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<string | number>((res) => proc.on("exit", (code, sig) => res(sig ?? code!)));
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await Promise.race([
      lines.next(),
      exited.then((code) => Promise.reject(new Error(`child exited (${code}): ${stderr}`))),
      new Promise<never>((_, rej) =>
        setTimeout(() => rej(new Error(`child silent: ${stderr}`)), 15_000).unref(),
      ),
    ]);
    return JSON.parse(line.value as string) as Record<string, unknown>;
  };
  const kill = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    return exited;
  };
  return { pid: proc.pid!, next, kill };
}

describe("SQLite store lock", () => {
  it("refuses a second store on a held file in this process, and frees the file on close", async () => {
    const dir = await tempDir();
    const file = join(dir.path, "bosun.db");
    const first = new SqliteStore({ file, softClaimMs: 60_000 });
    try {
      await first.enqueue([newJob({ queue: "a" }), newJob({ queue: "a" })], T0);
      const mine = await claimIn(first, "a", 1);
      assert.equal(readFileSync(`${file}.pid`, "utf8").trim(), String(process.pid), "the holder's pid");
      // Two stores on one file would be two writers: the second could take the jobs the first holds.
      assertLocked(file, dir.path, process.pid);
      // The refused open disturbed nothing: the holder still holds, claims and completes.
      assert.equal(readFileSync(`${file}.pid`, "utf8").trim(), String(process.pid));
      const [other] = await claimIn(first, "a", 5);
      assert.notEqual(other!.id, mine[0]!.id);
      const done = await first.complete(
        [...mine, other!].map((c) => ({
          jobId: c.id,
          lease: c.lease,
          attempt: c.attempt,
          workerId: c.workerId,
          result: null,
        })),
        T0 + 1,
      );
      assert.ok(done.every((o) => o.ok));
      // The lock is per file: another file in the same folder is another store.
      const beside = new SqliteStore({ file: join(dir.path, "other.db") });
      await beside.close();
    } finally {
      await first.close();
    }
    const again = new SqliteStore({ file });
    try {
      assert.equal(again.recoveredFromCrash, false, "a clean close is not a crash");
      assert.equal((await again.counts()).byStatus.completed, 2);
    } finally {
      await again.close();
      await dir.remove();
    }
  });

  it("refuses a second opener while the holder's event loop is stalled", async () => {
    const dir = await tempDir();
    const file = join(dir.path, "bosun.db");
    const release = join(dir.path, "release");
    const child = startChild([file, "--block-until", release]);
    try {
      const ids = (await child.next()).claimed as string[];
      assert.equal(ids.length, 5);
      // The child now sleeps its thread: no timer of its store runs, its claims stay in memory only.
      const reader = new DatabaseSync(file, { readOnly: true });
      const status = reader.prepare("SELECT status FROM jobs WHERE id = ?");
      assert.deepEqual(
        ids.map((id) => status.get(id)!.status),
        ids.map(() => "queued"),
      );
      reader.close();
      // The kernel holds the lock for a process that runs no JavaScript at all.
      await assertLockedFromAnotherProcess(file, dir.path, child.pid);
      writeFileSync(release, "");
      assert.deepEqual(await child.next(), { unblocked: true });
      await assertLockedFromAnotherProcess(file, dir.path, child.pid);
    } finally {
      await child.kill();
      await dir.remove();
    }
  });

  it("after kill -9 of a holder: the next open succeeds at once, reports it, and loses nothing", async () => {
    const dir = await tempDir();
    const file = join(dir.path, "bosun.db");
    const child = startChild([file]);
    try {
      const ids = (await child.next()).claimed as string[];
      assert.equal(ids.length, 5);
      const reader = new DatabaseSync(file, { readOnly: true });
      assert.deepEqual(
        reader
          .prepare("SELECT key FROM store_state WHERE key LIKE 'open:%'")
          .all()
          .map((r) => r.key),
        [`open:${child.pid}`],
        "the holder marks the file open",
      );
      reader.close();
      await assertLockedFromAnotherProcess(file, dir.path, child.pid);
      assert.equal(await child.kill(), "SIGKILL");

      // No wait, no retry: the kernel dropped the dead process's lock.
      const store = new SqliteStore({ file });
      try {
        assert.equal(store.recoveredFromCrash, true, "the mark left behind tells of the crash");
        assert.equal(readFileSync(`${file}.pid`, "utf8").trim(), String(process.pid), "the new holder's pid");
        // The claims were held in memory, not in the jobs table, but the feed had them: each is written
        // back as the attempt it was, with its lease already run out, so the reaper ends it and the
        // attempt counts.
        const jobs = await store.getJobs(ids);
        assert.deepEqual(
          jobs.map((j) => [
            j.status,
            j.attempts,
            j.workerId,
            j.leaseExpiresAt !== null && j.leaseExpiresAt <= Date.now(),
          ]),
          ids.map(() => ["running", 1, "child-w", true]),
          "the killed process's claims are attempts that ran out",
        );
        const reaped = await store.reapExpired(Date.now(), 100);
        assert.deepEqual(reaped.map((j) => j.id).sort(), [...ids].sort());
        for (const id of ids) {
          const [a] = await store.listAttempts(id);
          assert.deepEqual([a?.attempt, a?.status, a?.error?.code], [1, "failed", "LEASE_EXPIRED"]);
        }
        // Their retries wait out the backoff; a claim after it is written at once (claims are not held
        // for a minute after a crash).
        const later = Date.now() + 3_600_000;
        await store.promoteDue(later);
        const [c] = await claimIn(store, "crash", 1, later);
        const row = await store.getJob(c!.id);
        assert.equal(row!.status, "running");
        const written = new DatabaseSync(file, { readOnly: true });
        assert.equal(
          written.prepare("SELECT status FROM jobs WHERE id = ?").get(c!.id)!.status,
          "running",
          "after a crash claims are written with the claim",
        );
        written.close();
      } finally {
        await store.close();
      }
      const again = new SqliteStore({ file });
      assert.equal(again.recoveredFromCrash, false, "a clean close clears the mark");
      await again.close();
    } finally {
      await child.kill();
      await dir.remove();
    }
  });
});
