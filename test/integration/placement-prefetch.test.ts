/**
 * Prefetch must not defeat least-loaded placement (issue 10, item 3): a worker's extra poll (one that may
 * not wait, asking for more than its capacity) gets more than it can run now only when no other worker
 * that accepts the jobs has free capacity. Real SQLite file, the engine's own dispatcher.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { PollRequest } from "../../src/engine/dispatcher.ts";
import { normalizeJob } from "../../src/engine/job-input.ts";
import { sqliteEngine } from "../helpers/sqlite-engine.ts";
import { tempDir, waitUntil } from "../helpers/wait.ts";

const worker = (workerId: string, o: Partial<PollRequest>): PollRequest => ({
  workerId,
  slots: 4,
  running: 0,
  capacity: 4,
  labels: {},
  queues: null,
  types: null,
  waitMs: 0,
  ...o,
});

describe("placement with prefetch", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let e: ReturnType<typeof sqliteEngine>;

  before(async () => {
    dir = await tempDir();
    e = sqliteEngine(join(dir.path, "bosun.db"));
  });
  after(async () => {
    await e.close();
    await dir.remove();
  });

  it("an extra poll for three capacities shares a batch with an idle waiting worker, 2 and 2", async () => {
    const idle = e.engine.poll(worker("a", { waitMs: 10_000 }));
    await waitUntil(() => e.engine.waiting === 1, { what: "worker a to wait" });
    // Stored without a wake-up, so the waiting worker has not claimed them when the extra poll comes.
    const now = Date.now();
    await e.store.enqueue(
      [1, 2, 3, 4].map((n) =>
        normalizeJob({ type: "sleep", payload: { n } }, { owner: "t", now, maxPayloadBytes: 1 << 20 }),
      ),
      now,
    );
    const extra = await e.engine.poll(worker("b", { slots: 12 }));
    const waited = await idle;
    assert.equal(extra.length, 2, "the prefetching worker gets what it can run now, no more");
    assert.equal(waited.length, 2, "the idle worker gets its share at once");
  });
});
