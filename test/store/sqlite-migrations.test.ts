/**
 * Shipped migrations are never edited: a file created by an older release has them recorded as applied
 * and only ever runs the numbers it lacks. These open databases as older releases left them (001–003:
 * before staged cron fires; 001–004: before single-write completions; 001–005: before worker
 * registration instances; 001–007: before the alert cursor; 001–008: before identity) and check that the current Bosun
 * upgrades them in place.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { it } from "node:test";
import { migrate, openDatabase } from "../../src/store/sqlite/database.ts";
import { SqliteClusterStore } from "../../src/store/sqlite/sqlite-cluster.ts";
import { SqliteIdentityStore } from "../../src/store/sqlite/sqlite-identity.ts";
import { SqliteScheduleStore } from "../../src/store/sqlite/sqlite-schedules.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { tempDir } from "../helpers/wait.ts";

const MIGRATIONS = join(import.meta.dirname, "../../src/store/sqlite/migrations");

const T0 = 1_800_000_000_000;

/** The shipped migrations a file made with 001…`last` still lacks, in order (every later one). */
const shippedAfter = (last: number): number[] =>
  readdirSync(MIGRATIONS)
    .map((f) => Number(f.slice(0, 3)))
    .filter((v) => v > last)
    .sort((a, b) => a - b);

/** A database file as a release that shipped migrations 001…`last` left it. */
function openAsReleased(dirPath: string, last: number): { db: DatabaseSync; file: string } {
  const old = join(dirPath, `migrations-${last}`);
  mkdirSync(old);
  for (const f of readdirSync(MIGRATIONS).filter((f) => Number(f.slice(0, 3)) <= last))
    copyFileSync(join(MIGRATIONS, f), join(old, f));
  const file = join(dirPath, "bosun.db");
  const db = openDatabase({ file, durability: "normal" });
  assert.deepEqual(
    migrate(db, old),
    Array.from({ length: last }, (_, i) => i + 1),
  );
  return { db, file };
}

it("upgrades a database made before migration 004: held fires and the schedule indexes appear", async () => {
  const dir = await tempDir();
  try {
    const { db: before, file } = openAsReleased(dir.path, 3);
    before
      .prepare(`INSERT INTO schedules (id, cron, timezone, job, overlap, catch_up, catch_up_window_ms,
      paused, owner, created_at, updated_at) VALUES ('s1', '* * * * *', 'UTC', '{}', 'queue', 'none', 0, 0,
      'o', 1, 1)`)
      .run();
    before.close();

    const db = openDatabase({ file, durability: "normal" });
    assert.deepEqual(migrate(db), shippedAfter(3));
    assert.deepEqual(migrate(db), []);
    const indexes = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name IN (?, ?, ?, ?) ORDER BY name")
      .all("alerts_created", "jobs_schedule_active", "jobs_schedule_seq", "schedules_active")
      .map((r) => r.name);
    assert.deepEqual(indexes, [
      "alerts_created",
      "jobs_schedule_active",
      "jobs_schedule_seq",
      "schedules_active",
    ]);
    const store = new SqliteScheduleStore(db);
    assert.equal((await store.heldFires(["s1"])).size, 0, "an existing schedule starts with no held fires");
    await store.setHeldFires([{ id: "s1", times: [5, 6] }]);
    assert.deepEqual((await store.heldFires(["s1"])).get("s1"), [5, 6]);
    db.close();
  } finally {
    await dir.remove();
  }
});

it("upgrades a file from before migration 005 and reads its completed attempt once", async () => {
  const dir = await tempDir();
  try {
    const { db, file } = openAsReleased(dir.path, 4);
    // As 0.1 wrote them: attempt 1 failed, attempt 2 completed, both rows in job_attempts.
    db.prepare(`INSERT INTO jobs (id, queue, type, payload, status, priority, attempts, max_attempts,
      attempt_budget, backoff, run_at, created_at, updated_at, started_at, finished_at, result, worker_id, owner)
      VALUES ('j1', 'a', 't', 'null', 'completed', 0, 2, 3, 3, '{"type":"fixed","delayMs":0}', ?, ?, ?, ?, ?,
      '1', 'w1', 'alice')`).run(T0, T0, T0 + 30, T0 + 10, T0 + 30);
    const insertAttempt = db.prepare(`INSERT INTO job_attempts (job_id, attempt, status, started_at,
      finished_at, worker_id, exit_code, http_status, error) VALUES ('j1', ?, ?, ?, ?, 'w1', ?, ?, ?)`);
    insertAttempt.run(1, "failed", T0, T0 + 5, 1, null, '{"code":"X","message":"x"}');
    insertAttempt.run(2, "completed", T0 + 10, T0 + 30, 0, 200, null);
    db.close();

    const store = new SqliteStore({ file });
    try {
      assert.equal(store.recoveredFromCrash, false);
      assert.equal(
        store.db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get()?.v,
        shippedAfter(0).at(-1),
      );
      assert.deepEqual(
        (await store.listAttempts("j1")).map((a) => [a.attempt, a.status, a.exitCode, a.httpStatus]),
        [
          [1, "failed", 1, null],
          [2, "completed", 0, 200],
        ],
      );
    } finally {
      await store.close();
    }
  } finally {
    await dir.remove();
  }
});

it("upgrades a file from before migration 006: a registered worker has no instance, so none is replaced", async () => {
  const dir = await tempDir();
  try {
    const { db } = openAsReleased(dir.path, 5);
    db.prepare(`INSERT INTO workers (id, labels, capacity, running, types, queues, version, registered_at,
      last_seen_at) VALUES ('w1', '{}', 1, 0, '["sleep"]', NULL, '0.1.0', ?, ?)`).run(T0, T0);
    assert.deepEqual(migrate(db), shippedAfter(5));
    const cluster = new SqliteClusterStore(db);
    assert.equal((await cluster.getWorker("w1"))?.instance, null);
    const upserted = await cluster.upsertWorker(
      {
        id: "w1",
        labels: {},
        capacity: 1,
        running: 0,
        types: ["sleep"],
        queues: null,
        version: "0.2.0",
        instance: "new-process",
        principal: "key-1",
        lastSeenAt: T0 + 1,
      },
      T0,
    );
    assert.ok("worker" in upserted);
    const { worker, previousInstance } = upserted;
    assert.equal(previousInstance, null);
    assert.equal(worker.instance, "new-process");
    assert.equal(worker.registeredAt, T0);
    db.close();
  } finally {
    await dir.remove();
  }
});

it("upgrades a file from before migration 008: the alert cursor starts at the feed's latest change", async () => {
  const dir = await tempDir();
  try {
    const { db } = openAsReleased(dir.path, 7);
    // Three failures in one row of changes (store/feed.ts): its changes are 65536…65538.
    const failure = (id: string) => [id, "fail", "running", "failed", 1, "w", "X", "o", "q", "t", null];
    db.prepare("INSERT INTO job_events (at, n, failed, changes) VALUES (?, 3, 1, ?)").run(
      T0,
      JSON.stringify(["j1", "j2", "j3"].map(failure)),
    );
    assert.deepEqual(migrate(db), shippedAfter(7));
    // Failures from before the upgrade are history: no alert is raised for them.
    assert.equal(await new SqliteScheduleStore(db).alertCursor(), 65536 + 2);
    db.close();
  } finally {
    await dir.remove();
  }
});

it("upgrades a file from before migration 009: its jobs stay and the identity tables start empty", async () => {
  const dir = await tempDir();
  try {
    const { db } = openAsReleased(dir.path, 8);
    db.prepare(`INSERT INTO schedules (id, cron, timezone, job, overlap, catch_up, catch_up_window_ms,
      paused, owner, created_at, updated_at) VALUES ('s1', '* * * * *', 'UTC', '{}', 'queue', 'none', 0, 0,
      'o', 1, 1)`).run();
    assert.deepEqual(migrate(db), shippedAfter(8));
    const identity = new SqliteIdentityStore(db);
    assert.equal(await identity.countUsers(), 0);
    const u = await identity.createUser({
      id: "u1",
      username: "admin",
      role: "admin",
      passwordHash: "h",
      disabled: false,
      createdAt: T0,
      maxRunning: null,
      maxQueued: null,
    });
    assert.equal((await identity.getUserByName("ADMIN"))?.id, u.id);
    assert.equal((await new SqliteScheduleStore(db).get("s1"))?.owner, "o");
    db.close();
  } finally {
    await dir.remove();
  }
});
