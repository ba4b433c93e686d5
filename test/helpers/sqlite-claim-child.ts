/**
 * A child process for the SQLite crash test: opens the store on the file given as argv[2], enqueues and
 * claims five jobs (held in memory: the window is a minute, so none is written), prints their ids as one
 * JSON line and then waits to be killed. Run with process.execPath; type stripping applies to a file.
 */
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
// Keep the process (and the held claims) alive until the test kills it.
setInterval(() => {}, 1_000);
