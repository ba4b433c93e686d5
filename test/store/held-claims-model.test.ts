/**
 * Held claims as a model-based test: random sequences of store operations are applied to two SQLite
 * stores, one that holds every claim in memory for the whole sequence (softClaimMs 60 s, so every read
 * meets held claims through the `jobs` view of jobs-view.ts) and one that writes each claim at once
 * (softClaimMs 0). Same ids, same times (every `now` is passed in): whatever either store answers — an
 * operation's return value, any read, the change feed, and SQL of its own on the store's connection (every
 * column of every row, aggregates over running jobs as quotas would count them) — must be the same. The
 * written store is the model; holding claims is an optimisation that must not be observable.
 *
 * A failing sequence is shrunk (operations dropped one at a time while it still fails) and reported with
 * its seed; BOSUN_MODEL_SEED=<n> replays one seed, BOSUN_MODEL_RUNS=<n> runs more sequences (100 take
 * about 20 s of CPU, most of it reads through the view; 300 passed when this was written). Checked by
 * breaking the view on purpose: without its held rows, with attempts or progress read from the file, or
 * with counts or getJob reading main.jobs, the default 100 sequences fail (progress at seed 40).
 */
import assert from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import { it } from "node:test";
import { DEFAULT_BACKOFF, JOB_STATUSES, type NewJob } from "../../src/core/job.ts";
import type { WaitingWorker } from "../../src/core/placement.ts";
import type { FeedEvent } from "../../src/store/feed.ts";
import { SqliteScheduleStore } from "../../src/store/sqlite/sqlite-schedules.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import type { JobQuery, LeaseRef } from "../../src/store/store.ts";

const T0 = 1_800_000_000_000;
const RUNS = Number(process.env.BOSUN_MODEL_RUNS ?? 100);
/**
 * Claims of one call come back (and enter the feed) in row order when held, grouped by worker when
 * written (claim.ts writes one UPDATE per worker). The order within one claim is not part of the
 * contract, so it is compared as a set unless BOSUN_MODEL_CLAIM_ORDER=1.
 */
const CLAIM_ORDER = process.env.BOSUN_MODEL_CLAIM_ORDER === "1";
/**
 * Differences this test found that are not fixed yet, each masked by a normaliser of both sides (so the
 * test still catches everything else). None today: the two it found
 * (a heartbeat's updated_at on a held claim; the row a held claim's release leaves) are fixed in
 * sqlite-store.ts.
 */

/** What the masks need to know of the sequence so far. */
interface History {
  /** Jobs given back by a successful release. */
  released: Set<string>;
}

const KNOWN: ((v: Record<string, unknown>, h: History) => void)[] = [];

/**
 * A copy of `v` with the known differences masked in every object inside it. Lease tokens always
 * differ (each store makes its own): they are compared by what they name, through `tokens` below.
 */
function masked(v: unknown, h: History): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map((x) => masked(x, h));
  const o: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) o[k] = k === "lease" ? "(token)" : masked(x, h);
  for (const mask of KNOWN) mask(o, h);
  return o;
}

/** A claim as the model names it: the same for both stores, which each gave it a token of their own. */
interface ModelLease {
  key: string;
  jobId: string;
  attempt: number;
  workerId: string;
}

const OPS = 60;
const QUEUES = ["default", "a", "b"];
const TYPES = ["t", "t2"];
const TAGS = ["x", "y"];
const SCHEDULES = ["s1", "s2"];
const CONSTRAINTS: Record<string, string>[] = [{}, {}, { gpu: "true" }, { zone: "eu" }];
/** Three kinds of worker: anything without constraints, queues a/b with a GPU, only type t2. */
const WORKERS: Omit<WaitingWorker, "slots" | "running">[] = [
  { workerId: "w1", capacity: 4, labels: {}, queues: null, types: null },
  { workerId: "w2", capacity: 4, labels: { gpu: "true" }, queues: ["a", "b"], types: null },
  { workerId: "w3", capacity: 4, labels: {}, queues: null, types: ["t2"] },
];

/** mulberry32: small, seedable, good enough to pick operations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface JobSpec {
  queue: string;
  type: string;
  priority: number;
  /** ms after now: 0 is queued, more is scheduled. */
  delayMs: number;
  maxAttempts: number;
  constraints: Record<string, string>;
  tags: string[];
  /** An index into a small pool of keys: reuse answers with the existing job. */
  key: number | null;
  fire: { schedule: string; time: number } | null;
}

/**
 * An operation, independent of what the stores answer, so a sequence can be replayed and shrunk: `lease`
 * and `job` are indexes (mod the count) into the leases claimed so far and the jobs enqueued so far.
 */
type Op = { dt: number } & (
  | { k: "enqueue"; jobs: JobSpec[] }
  | { k: "promote" }
  | { k: "claim"; workers: { w: number; slots: number; running: number }[]; leaseMs: number }
  | { k: "complete"; leases: number[] }
  | { k: "fail"; leases: number[]; retryable: boolean[] }
  | { k: "release"; leases: number[] }
  | { k: "heartbeat"; w: number; leases: number[]; leaseMs: number }
  | { k: "reapExpired"; limit: number }
  | { k: "reapWorkers"; ws: number[] }
  | { k: "cancel"; job: number }
  | { k: "retry"; job: number }
  | { k: "progress"; leases: number[]; progress: number }
);

function generate(seed: number): Op[] {
  const r = prng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const some = (n: number) => Array.from({ length: 1 + int(n) }, () => int(1000));
  const spec = (): JobSpec => ({
    queue: pick(QUEUES),
    type: pick(TYPES),
    priority: r() < 0.6 ? 0 : int(7) - 2,
    delayMs: r() < 0.7 ? 0 : 1 + int(5000),
    maxAttempts: 1 + int(3),
    constraints: pick(CONSTRAINTS),
    tags: TAGS.filter(() => r() < 0.4),
    key: r() < 0.15 ? int(3) : null,
    fire: r() < 0.2 ? { schedule: pick(SCHEDULES), time: T0 + 1000 * int(6) } : null,
  });
  const weighted: [number, () => Omit<Op, "dt">][] = [
    [5, () => ({ k: "enqueue", jobs: Array.from({ length: 1 + int(3) }, spec) })],
    [1, () => ({ k: "promote" })],
    [
      5,
      () => {
        const ws = [0, 1, 2].filter(() => r() < 0.6);
        if (ws.length === 0) ws.push(int(3));
        return {
          k: "claim",
          workers: ws.map((w) => ({ w, slots: 1 + int(3), running: int(3) })),
          leaseMs: 500 + int(4000),
        };
      },
    ],
    [3, () => ({ k: "complete", leases: some(2) })],
    [2, () => ({ k: "fail", leases: some(2), retryable: [r() < 0.7, r() < 0.7] })],
    [1, () => ({ k: "release", leases: some(2) })],
    [2, () => ({ k: "heartbeat", w: int(3), leases: some(3), leaseMs: 500 + int(4000) })],
    [1, () => ({ k: "reapExpired", limit: 1 + int(4) })],
    [1, () => ({ k: "reapWorkers", ws: [int(3)] })],
    [1, () => ({ k: "cancel", job: int(1000) })],
    [1, () => ({ k: "retry", job: int(1000) })],
    [1, () => ({ k: "progress", leases: some(2), progress: int(101) })],
  ];
  const total = weighted.reduce((n, [w]) => n + w, 0);
  return Array.from({ length: OPS }, () => {
    let x = r() * total;
    let k = 0;
    while (x >= weighted[k]![0]) x -= weighted[k++]![0];
    const make = weighted[k]![1];
    return { dt: r() < 0.3 ? 0 : int(2500), ...make() } as Op;
  });
}

/** One store under test with the schedule store's view of its jobs and SQL of the test's own. */
interface Subject {
  name: string;
  store: SqliteStore;
  schedules: SqliteScheduleStore;
  sql: ReturnType<typeof prepareSql>;
}

function open(name: string, softClaimMs: number): Subject {
  const store = new SqliteStore({ file: ":memory:", softClaimMs });
  return { name, store, schedules: new SqliteScheduleStore(store.db), sql: prepareSql(store.db) };
}

/** Runs an operation, with a thrown error as a result like any other. */
async function attempt<T>(fn: () => Promise<T>): Promise<T | { threw: string }> {
  try {
    return await fn();
  } catch (err) {
    return { threw: String(err) };
  }
}

const STATUSES: Omit<JobQuery, "limit">[] = [{}, ...JOB_STATUSES.map((st) => ({ status: [st] }))];
const FILTERED: Omit<JobQuery, "limit">[] = [
  { status: ["queued", "running"] },
  { status: ["running", "completed", "failed"] },
  ...QUEUES.map((queue): Omit<JobQuery, "limit"> => ({ queue, status: ["running"] })),
  { queue: "a" },
  { type: "t2" },
  { type: "t2", status: ["running", "queued"] },
  { tag: "x" },
  { tag: "y", status: ["running"] },
  { scheduleId: "s1", status: ["running"] },
  { owner: "alice", status: ["running"] },
];
const PAGED: Omit<JobQuery, "limit">[] = [
  {},
  { status: ["running"] },
  { status: ["queued", "running"] },
  { status: ["running"], tag: "x" },
];

/** Everything a reader can observe, read the same way from either store. */
async function observe(
  s: Subject,
  ids: string[],
  step: number | "all",
  feedFrom: number,
): Promise<Record<string, unknown>> {
  const { store } = s;
  const out: Record<string, unknown> = {};
  const all = step === "all";
  // Each step reads a fifth of the jobs one by one and their attempts (attempts only accumulate, so a
  // difference stays until the last step, which reads them all).
  const some = all ? ids : ids.filter((_, i) => i % 5 === step % 5);
  out.getJobs = await store.getJobs(ids);
  out.getJob = await Promise.all(some.map((id) => store.getJob(id)));
  out.counts = await store.counts();
  out.attempts = await Promise.all(some.map((id) => store.listAttempts(id)));
  // The feed only grows: each step reads what the step wrote, the last step all of it.
  out.feed = claimsAsSets(await store.readFeed(all ? 0 : feedFrom, 100_000));
  // A list costs a statement prepared per call (every list on every step took 3 s per sequence): each
  // step reads one status or filter in turn, every third step one paged walk; the last step all of them.
  const pick = <T>(xs: T[]): T[] => (all ? xs : [xs[step % xs.length]!]);
  const lists: Record<string, unknown> = {};
  const list = async (q: Omit<JobQuery, "limit">) => {
    lists[JSON.stringify(q)] = await store.listJobs({ ...q, limit: 1000 });
  };
  for (const q of pick([...STATUSES, ...FILTERED])) await list(q);
  for (const q of all ? PAGED : typeof step === "number" && step % 3 === 0 ? pick(PAGED) : []) {
    // Pages by the seq cursor (the held rows are merged into each page).
    const pages: string[][] = [];
    for (let beforeSeq: number | undefined, i = 0; i < 100; i++) {
      const page = await store.listJobs({
        ...q,
        limit: 4,
        ...(beforeSeq === undefined ? {} : { beforeSeq }),
      });
      pages.push(page.map((j) => j.id));
      if (page.length < 4) break;
      beforeSeq = page.at(-1)!.seq;
    }
    lists[`pages of ${JSON.stringify(q)}`] = pages;
  }
  out.lists = lists;
  out.runs = await Promise.all(SCHEDULES.map((id) => s.schedules.runs(id, { limit: 1000 })));
  out.nextRunAt = await store.nextRunAt();
  out.sql = sqlReads(s);
  return out;
}

/**
 * SQL a reader writes against the store's connection, as a new feature would (quotas, flows): every row
 * with every column as `jobs` shows it, and running jobs counted per owner, queue and type. Only the
 * lease tokens differ (each store makes its own; the claims compare them by what they name).
 */
function sqlReads(s: Subject): Record<string, unknown> {
  return {
    rows: s.sql.rows.all().map(({ lease_token, ...r }) => r),
    running: s.sql.running.all(),
    byWorker: s.sql.byWorker.all(),
  };
}

function prepareSql(db: DatabaseSync) {
  return {
    rows: db.prepare("SELECT * FROM jobs ORDER BY seq"),
    running: db.prepare(`SELECT owner, queue, type, COUNT(*) AS n, MIN(started_at) AS first,
        MAX(lease_expires_at) AS until, SUM(attempts) AS attempts,
        group_concat(worker_id ORDER BY worker_id) AS workers
      FROM jobs WHERE status = 'running' GROUP BY owner, queue, type ORDER BY owner, queue, type`),
    byWorker: db.prepare(`SELECT worker_id, COUNT(*) AS n FROM jobs WHERE status IN ('running', 'queued')
      GROUP BY 1 ORDER BY 1`),
  };
}

interface Difference {
  step: number;
  op: Op;
  what: string;
  path?: string;
  held: unknown;
  written: unknown;
}

/** Applies `ops` to both stores; the first difference, or null when they agreed throughout. */
async function run(ops: Op[]): Promise<Difference | null> {
  const held = open("held", 60_000);
  const written = open("written", 0);
  const ids: string[] = [];
  const leases: ModelLease[] = [];
  const tokens = new Map<Subject, Map<string, string>>([
    [held, new Map()],
    [written, new Map()],
  ]);
  const history: History = { released: new Set() };
  let now = T0;
  let feedFrom = 0;
  try {
    for (const [step, op] of ops.entries()) {
      now += op.dt;
      const lease = (i: number) => leases[i % leases.length]!;
      const distinctModel = (xs: number[]) =>
        leases.length === 0 ? [] : [...new Map(xs.map((i) => [lease(i).jobId, lease(i)])).values()];
      const apply = async (s: Subject): Promise<unknown> => {
        const { store } = s;
        const mine = tokens.get(s)!;
        const distinct = (xs: number[]): LeaseRef[] =>
          distinctModel(xs).map(({ key, ...l }) => ({ ...l, lease: mine.get(key) ?? "never-claimed" }));
        switch (op.k) {
          case "enqueue":
            return store.enqueue(
              op.jobs.map((j, i): NewJob => {
                // The same ids for both stores; the job counter only grows, whatever the stores answer.
                const id = `job-${step}-${i}`;
                return {
                  id,
                  queue: j.queue,
                  type: j.type,
                  payload: { step, i },
                  priority: j.priority,
                  runAt: now + j.delayMs,
                  maxAttempts: j.maxAttempts,
                  backoff: { ...DEFAULT_BACKOFF, delayMs: 100, jitter: 0 },
                  timeoutMs: null,
                  idempotencyKey: j.key === null ? null : `key-${j.key}`,
                  owner: "alice",
                  tags: j.tags,
                  constraints: j.constraints,
                  scheduleId: j.fire?.schedule ?? null,
                  scheduledTime: j.fire?.time ?? null,
                };
              }),
              now,
            );
          case "promote":
            return store.promoteDue(now);
          case "claim":
            return store.claim({
              now,
              leaseMs: op.leaseMs,
              workers: op.workers.map((w) => ({ ...WORKERS[w.w]!, slots: w.slots, running: w.running })),
            });
          case "complete":
            return store.complete(
              distinct(op.leases).map((l) => ({ ...l, result: { by: l.workerId } })),
              now,
            );
          case "fail":
            return store.fail(
              distinct(op.leases).map((l, i) => ({
                ...l,
                error: { code: "EXIT_NONZERO", message: "exit 1" },
                retryable: op.retryable[i] ?? true,
                exitCode: 1,
              })),
              now,
            );
          case "release":
            return store.release(distinct(op.leases), now);
          case "heartbeat":
            return store.heartbeat(
              WORKERS[op.w]!.workerId,
              distinct(op.leases).map((l) => ({ jobId: l.jobId, lease: l.lease })),
              now + op.leaseMs,
              now,
            );
          case "reapExpired":
            return store.reapExpired(now, op.limit);
          case "reapWorkers":
            return store.reapWorkers(
              op.ws.map((w) => WORKERS[w]!.workerId),
              "WORKER_LOST",
              now,
            );
          case "cancel":
            return ids.length === 0 ? "no jobs" : store.cancel(ids[op.job % ids.length]!, now);
          case "retry":
            return ids.length === 0 ? "no jobs" : store.retry(ids[op.job % ids.length]!, now);
          case "progress":
            return store.setProgress(
              distinct(op.leases).map((l) => ({ jobId: l.jobId, lease: l.lease, progress: op.progress })),
              now,
            );
        }
      };
      const a = claimAsSet(op, await attempt(() => apply(held)));
      const b = claimAsSet(op, await attempt(() => apply(written)));
      if (op.k === "release" && Array.isArray(b))
        for (const o of b as { ok: boolean; job?: { id: string } }[])
          if (o.ok) history.released.add(o.job!.id);
      if (!equal(masked(a, history), masked(b, history)))
        return { step, op, what: `the result of ${op.k}`, held: a, written: b };
      if (op.k === "enqueue" && Array.isArray(b))
        for (const o of b as { job: { id: string }; created: boolean }[]) if (o.created) ids.push(o.job.id);
      if (op.k === "claim" && Array.isArray(a) && Array.isArray(b)) {
        type C = { id: string; attempt: number; workerId: string; lease: string };
        const heldLease = new Map((a as C[]).map((c) => [c.id, c.lease]));
        for (const c of b as C[]) {
          const key = `${step}:${c.id}`;
          leases.push({ key, jobId: c.id, attempt: c.attempt, workerId: c.workerId });
          tokens.get(written)!.set(key, c.lease);
          tokens.get(held)!.set(key, heldLease.get(c.id) ?? "not-claimed-here");
        }
      }
      const when = step === ops.length - 1 ? "all" : step;
      const seenHeld = masked(await observe(held, ids, when, feedFrom), history) as Record<string, unknown>;
      const seenWritten = masked(await observe(written, ids, when, feedFrom), history) as Record<
        string,
        unknown
      >;
      feedFrom = (await written.store.feedBounds()).latest;
      for (const key of Object.keys(seenWritten))
        if (!equal(seenHeld[key], seenWritten[key]))
          return {
            step,
            op,
            what: `${key} after ${op.k}`,
            ...narrow(seenHeld[key], seenWritten[key], key),
          };
    }
    return null;
  } finally {
    await held.store.close();
    await written.store.close();
  }
}

function claimAsSet(op: Op, result: unknown): unknown {
  if (CLAIM_ORDER || op.k !== "claim" || !Array.isArray(result)) return result;
  return [...(result as { id: string }[])].sort((x, y) => (x.id < y.id ? -1 : 1));
}

/** Each run of claim rows written by one call (consecutive, same time) in job id order, seqs kept. */
function claimsAsSets(feed: FeedEvent[]): FeedEvent[] {
  if (CLAIM_ORDER) return feed;
  const out: FeedEvent[] = [];
  for (let i = 0; i < feed.length; ) {
    let j = i + 1;
    if (feed[i]!.event === "claim")
      while (j < feed.length && feed[j]!.event === "claim" && feed[j]!.at === feed[i]!.at) j++;
    const run = feed.slice(i, j);
    const sorted = [...run].sort((x, y) => (x.jobId < y.jobId ? -1 : 1));
    for (const [k, e] of sorted.entries()) out.push({ ...e, seq: run[k]!.seq });
    i = j;
  }
  return out;
}

function equal(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

/** Where two values first differ (into lists and objects), to keep a report short. */
function narrow(a: unknown, b: unknown, path = ""): { path: string; held: unknown; written: unknown } {
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    const i = a.findIndex((x, k) => !equal(x, b[k]));
    if (i >= 0) return narrow(a[i], b[i], `${path}[${i}]`);
  } else if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a)) {
    const x = a as Record<string, unknown>;
    const y = b as Record<string, unknown>;
    const keys = Object.keys(x);
    if (equal(keys, Object.keys(y))) {
      const k = keys.filter((key) => !equal(x[key], y[key]));
      // One field apart: say which; several: show the whole object.
      if (k.length === 1 && x[k[0]!] && typeof x[k[0]!] === "object")
        return narrow(x[k[0]!], y[k[0]!], `${path}.${k[0]}`);
      if (k.length >= 1) return { path: `${path} (fields ${k.join(", ")})`, held: a, written: b };
    }
  }
  return { path, held: a, written: b };
}

/** Drops operations while the sequence still shows a difference: a short sequence to read. */
async function shrink(ops: Op[]): Promise<{ ops: Op[]; diff: Difference }> {
  let best = ops;
  let diff = (await run(ops))!;
  best = best.slice(0, diff.step + 1);
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = best.length - 1; i >= 0; i--) {
      const shorter = [...best.slice(0, i), ...best.slice(i + 1)];
      const d = await run(shorter);
      if (d && d.what === diff.what) {
        best = shorter.slice(0, d.step + 1);
        diff = d;
        changed = true;
      }
    }
  }
  return { ops: best, diff };
}

it("a store that holds its claims answers every operation and read as one that writes them", async () => {
  const seeds = process.env.BOSUN_MODEL_SEED
    ? [Number(process.env.BOSUN_MODEL_SEED)]
    : Array.from({ length: RUNS }, (_, i) => 1 + i);
  for (const seed of seeds) {
    const ops = generate(seed);
    if ((await run(ops)) === null) continue;
    const { ops: minimal, diff } = await shrink(ops);
    assert.fail(
      [
        `seed ${seed}: held and written stores differ in ${diff.what} (step ${diff.step} of the minimal sequence)`,
        `minimal sequence (${minimal.length} ops):`,
        ...minimal.map((op, i) => `  ${i}: ${JSON.stringify(op)}`),
        `where:   ${diff.path ?? "the result"}`,
        `held:    ${JSON.stringify(diff.held)}`,
        `written: ${JSON.stringify(diff.written)}`,
      ].join("\n"),
    );
  }
});
