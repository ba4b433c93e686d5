/**
 * A child process for the SQLite crash and lock tests: opens the store on the file given as argv[2],
 * enqueues and claims five jobs (held in memory: the window is a minute, so none is written), prints their
 * ids as one JSON line and then waits to be killed. With `--block-until <path>` it then blocks its event
 * loop (no timer or I/O callback runs) until that path exists, prints `{"unblocked":true}` and waits again:
 * a stalled holder, as a long synchronous handler or a GC pause makes one. Run with process.execPath;
 * type stripping applies to a file.
 */
import { existsSync } from "node:fs";
import { newId } from "../../src/core/ids.ts";
import { DEFAULT_BACKOFF, type NewJob } from "../../src/core/job.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";

const file = process.argv[2];
if (!file) throw new Error("usage: sqlite-claim-child.ts <file>");
const store = new SqliteStore({ file, softClaimMs: 60_000 });
const now = Date.now();
const jobs: NewJob[] = Array.from({ length: 5 }, () => ({
  id: newId(),
  queue: "crash",
  type: "t",
  payload: null,
  priority: 0,
  runAt: now,
  maxAttempts: 3,
  backoff: DEFAULT_BACKOFF,
  timeoutMs: null,
  idempotencyKey: null,
  owner: "child",
  tags: [],
  constraints: {},
  scheduleId: null,
  scheduledTime: null,
}));
await store.enqueue(jobs, now);
const claims = await store.claim({
  now,
  leaseMs: 600_000,
  workers: [
    { workerId: "child-w", slots: 5, running: 0, capacity: 5, labels: {}, queues: ["crash"], types: null },
  ],
});
process.stdout.write(`${JSON.stringify({ claimed: claims.map((c) => c.id) })}\n`);
const blockUntil = process.argv[3] === "--block-until" ? process.argv[4] : undefined;
if (blockUntil) {
  // A minute at most, so a test that dies before it releases the child leaves no spinning process.
  // Atomics.wait sleeps the thread between looks: the event loop is stalled without taking a core.
  const deadline = Date.now() + 60_000;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (!existsSync(blockUntil) && Date.now() < deadline) Atomics.wait(nap, 0, 0, 10);
  process.stdout.write(`${JSON.stringify({ unblocked: true })}\n`);
}
// Keep the process (and the held claims) alive until the test kills it.
setInterval(() => {}, 1_000);
