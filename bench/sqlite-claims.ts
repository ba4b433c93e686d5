/**
 * `npm run bench:claims [-- options]`: the SQLite store alone, without engine or workers, in two parts.
 *
 * - claims: a backlog drained by claim/complete batches, with claims held in memory (the default
 *   softClaimMs) and written at once (softClaimMs 0), alternated so both see the same machine; µs per job and jobs/s,
 *   medians. What the held claims save is the second row write per job (store/sqlite/soft-claims.ts).
 * - reads: a file of 1,000,000 jobs (900,000 completed, 99,000 queued, 1,000 running and failed) with
 *   200 claims held, read through the store and through SQL of its own (the `jobs` view,
 *   store/sqlite/jobs-view.ts): lists, lookups, counts and running jobs per owner, median ms.
 *
 *   --parts claims,reads   --jobs 100000   --batch 50   --rounds 3   --rows 1000000
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import { DEFAULT_BACKOFF, type NewJob } from "../src/core/job.ts";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";

const { values } = parseArgs({
  options: {
    parts: { type: "string", default: "claims,reads" },
    jobs: { type: "string", default: "100000" },
    batch: { type: "string", default: "50" },
    rounds: { type: "string", default: "3" },
    rows: { type: "string", default: "1000000" },
  },
});
const parts = values.parts!.split(",");
const T0 = 1_800_000_000_000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const worker = (slots: number) => ({
  workerId: "w1",
  capacity: slots,
  slots,
  running: 0,
  labels: {},
  queues: null,
  types: null,
});
const newJob = (i: number, now: number): NewJob => ({
  id: `job-${i}`,
  queue: "default",
  type: "noop",
  payload: {},
  priority: 0,
  runAt: now,
  maxAttempts: 3,
  backoff: DEFAULT_BACKOFF,
  timeoutMs: null,
  idempotencyKey: null,
  owner: "local",
  tags: [],
  constraints: {},
  scheduleId: null,
  scheduledTime: null,
});

/** One drain of a fresh file: µs per job in claims and in completions, and jobs/s overall. */
async function drain(softClaimMs: number | undefined, jobs: number, batch: number) {
  const dir = mkdtempSync(join(tmpdir(), "bosun-claims-"));
  const store = new SqliteStore({ file: join(dir, "bosun.db"), softClaimMs });
  try {
    for (let i = 0; i < jobs; i += 1000)
      await store.enqueue(
        Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => newJob(i + k, T0)),
        T0,
      );
    let now = T0;
    let claimMs = 0;
    let completeMs = 0;
    const t0 = performance.now();
    for (;;) {
      const a = performance.now();
      const claims = await store.claim({ now: ++now, leaseMs: 30_000, workers: [worker(batch)] });
      const b = performance.now();
      if (claims.length === 0) break;
      await store.complete(
        claims.map((c) => ({
          jobId: c.id,
          lease: c.lease,
          attempt: c.attempt,
          workerId: c.workerId,
          result: null,
        })),
        now,
      );
      claimMs += b - a;
      completeMs += performance.now() - b;
    }
    const perJob = (ms: number) => (ms * 1000) / jobs;
    return {
      perSec: jobs / ((performance.now() - t0) / 1000),
      claimUs: perJob(claimMs),
      completeUs: perJob(completeMs),
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function claimsPart() {
  const jobs = Number(values.jobs);
  const batch = Number(values.batch);
  const runs: Record<string, Awaited<ReturnType<typeof drain>>[]> = { held: [], written: [] };
  for (let r = 0; r < Number(values.rounds); r++) {
    runs.held!.push(await drain(undefined, jobs, batch));
    runs.written!.push(await drain(0, jobs, batch));
  }
  console.log(`claims: ${jobs} jobs, batches of ${batch}, median of ${values.rounds}`);
  for (const [mode, rs] of Object.entries(runs))
    console.log(
      `  ${mode.padEnd(8)} ${median(rs.map((x) => x.perSec))
        .toFixed(0)
        .padStart(
          7,
        )} jobs/s   claim ${median(rs.map((x) => x.claimUs)).toFixed(2)} µs/job   complete ${median(rs.map((x) => x.completeUs)).toFixed(2)} µs/job`,
    );
}

async function readsPart() {
  const rows = Number(values.rows);
  const dir = mkdtempSync(join(tmpdir(), "bosun-reads-"));
  const file = join(dir, "bosun.db");
  // The rows are written straight into the file (a store would take minutes to enqueue a million).
  await new SqliteStore({ file }).close();
  const raw = new DatabaseSync(file);
  raw.exec(`BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})
    INSERT INTO jobs (seq, id, queue, type, payload, status, priority, attempts, max_attempts, attempt_budget,
      backoff, run_at, created_at, updated_at, owner, tags, started_at, finished_at, worker_id,
      lease_expires_at, lease_token)
    SELECT i, 'job-' || i, CASE i % 3 WHEN 0 THEN 'default' WHEN 1 THEN 'a' ELSE 'b' END, 'noop', '{}',
      CASE WHEN i % 1000 = 7 THEN 'failed' WHEN i % 1000 = 9 THEN 'running'
        WHEN i > ${rows * 0.9} THEN 'queued' ELSE 'completed' END,
      0, 1, 3, 3, '{"type":"exponential","delayMs":1000}', i, i, i, CASE WHEN i % 10 = 0 THEN 'ann' ELSE 'bob' END,
      CASE WHEN i % 100 = 0 THEN '["x"]' ELSE NULL END, i, i,
      CASE WHEN i % 1000 = 9 THEN 'w0' END, CASE WHEN i % 1000 = 9 THEN ${T0 * 2} END,
      CASE WHEN i % 1000 = 9 THEN 't' || i END
    FROM n; COMMIT; PRAGMA optimize;`);
  raw.close();
  const store = new SqliteStore({ file, softClaimMs: 60_000 });
  try {
    const held = await store.claim({ now: T0, leaseMs: 1e9, workers: [worker(200)] });
    const time = async (name: string, fn: () => unknown) => {
      const ms: number[] = [];
      for (let i = 0; i < 9; i++) {
        const a = performance.now();
        await fn();
        ms.push(performance.now() - a);
      }
      console.log(`  ${name.padEnd(36)} ${median(ms).toFixed(2).padStart(8)} ms`);
    };
    console.log(`reads: ${rows} jobs, ${held.length} claims held`);
    for (const status of ["completed", "failed", "queued", "running"] as const)
      await time(`list status=${status}`, () => store.listJobs({ status: [status], limit: 50 }));
    await time("list (no filter)", () => store.listJobs({ limit: 50 }));
    await time("list tag=x", () => store.listJobs({ tag: "x", limit: 50 }));
    await time("getJob (held)", () => store.getJob(held[0]!.id));
    await time("getJob (not held)", () => store.getJob("job-5"));
    await time("counts", () => store.counts());
    const perOwner = store.db.prepare(
      "SELECT owner, COUNT(*) AS n FROM jobs WHERE status = 'running' GROUP BY owner",
    );
    await time("SQL: running per owner", () => perOwner.all());
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (parts.includes("claims")) await claimsPart();
if (parts.includes("reads")) await readsPart();
