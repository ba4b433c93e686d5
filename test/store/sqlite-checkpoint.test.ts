/**
 * The WAL is folded into the database file by the checkpoint thread, not by the writer: the writer's
 * autocheckpoint threshold is far above what this test writes, so only the thread can grow the file.
 */
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { newId } from "../../src/core/ids.ts";
import type { NewJob } from "../../src/core/job.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { tempDir } from "../helpers/wait.ts";

const job = (now: number): NewJob => ({
  id: newId(),
  queue: "default",
  type: "noop",
  payload: { pad: "x".repeat(200) },
  priority: 0,
  maxAttempts: 1,
  backoff: { type: "fixed", delayMs: 0 },
  timeoutMs: null,
  runAt: now,
  idempotencyKey: null,
  owner: "test",
  tags: [],
  constraints: {},
  scheduleId: null,
  scheduledTime: null,
});

async function dbFileGrowth(checkpointThread: boolean): Promise<number> {
  const dir = await tempDir();
  const file = join(dir.path, "bosun.db");
  const store = new SqliteStore({ file, checkpointThread });
  try {
    const before = statSync(file).size;
    const now = Date.now();
    for (let i = 0; i < 5; i++)
      await store.enqueue(
        Array.from({ length: 1000 }, () => job(now)),
        now,
      );
    await new Promise((r) => setTimeout(r, 300));
    return statSync(file).size - before;
  } finally {
    await store.close();
    await dir.remove();
  }
}

describe("SQLite checkpoint thread", () => {
  it("copies committed pages into the database file while the writer keeps going", async () => {
    assert.ok((await dbFileGrowth(true)) > 1_000_000);
  });

  it("without it, the pages stay in the WAL until the writer reaches its autocheckpoint threshold", async () => {
    assert.equal(await dbFileGrowth(false), 0);
  });
});
