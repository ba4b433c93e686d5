/**
 * Shipped migrations are never edited: a file created by an older release has them recorded as applied
 * and only ever runs the numbers it lacks. This opens a database made with 001–003 only (the schema as
 * released before staged cron fires) and checks that the current Bosun upgrades it in place.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { migrate, openDatabase } from "../../src/store/sqlite/database.ts";
import { SqliteScheduleStore } from "../../src/store/sqlite/sqlite-schedules.ts";
import { tempDir } from "../helpers/wait.ts";

const MIGRATIONS = join(import.meta.dirname, "../../src/store/sqlite/migrations");

it("upgrades a database made before migration 004: held fires and the schedule indexes appear", async () => {
  const dir = await tempDir();
  try {
    const old = join(dir.path, "migrations-0.1");
    mkdirSync(old);
    for (const f of readdirSync(MIGRATIONS).filter((f) => /^00[1-3]_/.test(f)))
      copyFileSync(join(MIGRATIONS, f), join(old, f));
    const file = join(dir.path, "bosun.db");
    const before = openDatabase({ file, durability: "normal" });
    assert.deepEqual(migrate(before, old), [1, 2, 3]);
    before
      .prepare(`INSERT INTO schedules (id, cron, timezone, job, overlap, catch_up, catch_up_window_ms,
      paused, owner, created_at, updated_at) VALUES ('s1', '* * * * *', 'UTC', '{}', 'queue', 'none', 0, 0,
      'o', 1, 1)`)
      .run();
    before.close();

    const db = openDatabase({ file, durability: "normal" });
    assert.deepEqual(migrate(db), [4, 5]);
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
