/**
 * Claiming on SQLite: read the first ready rows that some waiting worker accepts (queue, type and
 * constraints are checked by the read itself, so rows nobody can take are skipped by SQLite however many
 * there are), place them on the waiting workers (core/placement.ts), then either hold the claims in
 * memory (soft-claims.ts) or write them as leases, one set-based UPDATE per worker (a third cheaper per
 * job than one per row).
 */
import { randomBytes } from "node:crypto";
import type { Claim } from "../../core/job.ts";
import { distinctFits, type PlaceableJob, placeJobs, type WaitingWorker } from "../../core/placement.ts";
import { change, type NewFeedEvent } from "../feed.ts";
import type { ClaimRequest } from "../store.ts";
import { atOrAfter, type FloorPosition } from "./ready-floor.ts";
import type { SoftClaims } from "./soft-claims.ts";
import type { FitShape, Statements } from "./statements.ts";

/** A ready row as the claim reads it (statements.ts: candidateStatements, same column order). */
interface Candidate extends PlaceableJob {
  seq: number;
  payload: string;
  attempts: number;
  timeoutMs: number | null;
  maxAttempts: number;
  scheduledTime: number | null;
  owner: string;
  scheduleId: string | null;
  runAt: number;
  priority: number;
}

/** Claims, and appends a `claim` change per claim to `feed` (held or written, the feed has it). */
export function claimJobs(
  s: Statements,
  held: SoftClaims,
  req: ClaimRequest,
  soft: boolean,
  feed: NewFeedEvent[],
): Claim[] {
  const claims: Claim[] = [];
  let workers = req.workers.filter((w) => w.slots > 0);
  // Every row a pass reads fits one of its workers; a row left over fits only workers that filled up in
  // that pass, so a further pass for the others reads past it. Each further pass has fewer workers.
  while (workers.length > 0) {
    const { got, exhausted } = claimPass(s, held, req, workers, soft, claims, feed);
    if (exhausted) break;
    workers = workers
      .map((w) => {
        const n = got.get(w.workerId) ?? 0;
        return { ...w, slots: w.slots - n, running: w.running + n };
      })
      .filter((w) => w.slots > 0);
  }
  return claims;
}

/** One read and placement for these workers; `exhausted` when it read fewer rows than it asked for. */
function claimPass(
  s: Statements,
  held: SoftClaims,
  req: ClaimRequest,
  workers: WaitingWorker[],
  soft: boolean,
  claims: Claim[],
  feed: NewFeedEvent[],
): { got: Map<string, number>; exhausted: boolean } {
  const total = workers.reduce((n, w) => n + w.slots, 0);
  const fits = distinctFits(workers);
  const anyQueue = fits.some((w) => w.queues === null);
  const anyType = fits.some((w) => w.types === null);
  const queues = anyQueue ? null : JSON.stringify([...new Set(fits.flatMap((w) => w.queues ?? []))]);
  const types = anyType ? null : JSON.stringify([...new Set(fits.flatMap((w) => w.types ?? []))]);
  // One fit (a pool, or identical workers): constraints against its labels, or none at all when it has
  // no labels (the common case, a NULL test). Several: each row must fit one of them.
  let fit: FitShape;
  let fitArg: string | null;
  if (fits.length === 1) {
    const labels = fits[0]!.labels;
    fit = Object.keys(labels).length === 0 ? "unconstrained" : "labels";
    fitArg = fit === "labels" ? JSON.stringify(labels) : null;
  } else {
    fit = "any";
    fitArg = JSON.stringify(fits.map((f) => ({ l: f.labels, q: f.queues, t: f.types })));
  }
  // Where to start reading (ready-floor.ts), per worker filter; hard claims leave the ready index at
  // once, so they need no floor.
  const filter = `${fit}|${queues}|${types}|${fitArg}`;
  let floor = soft ? held.floor.get(filter) : null;
  const read = (limit: number): Candidate[] => {
    const after = floor;
    const exclude = exclusion(held, after);
    const args: (string | number)[] = [];
    if (exclude !== null) args.push(exclude);
    if (after) args.push(after.priority, after.seq);
    if (queues !== null) args.push(queues);
    if (types !== null) args.push(types);
    if (fitArg !== null) args.push(fitArg);
    const statement = s.candidates({
      exclude: exclude !== null,
      floor: after !== null,
      queues: queues !== null,
      types: types !== null,
      fit,
    });
    return (statement.all(...args, limit) as unknown as unknown[][]).map(toCandidate);
  };
  let rows = read(total);
  // Too few after the floor: lower priorities, or a row queued ahead of it by a path that did not say so.
  if (floor && rows.length < total) {
    floor = null;
    rows = read(total);
  }
  const placed = placeJobs(rows, workers);
  if (soft && rows.length > 0) {
    // Everything before the first row read is held; so is every row of the placed prefix.
    let k = 0;
    while (k < rows.length && placed.has(rows[k]!.id)) k++;
    const last = k > 0 ? rows[k - 1]! : null;
    held.floor.set(
      filter,
      last
        ? { priority: last.priority, seq: last.seq + 1 }
        : { priority: rows[0]!.priority, seq: rows[0]!.seq },
    );
  }
  const got = new Map<string, number>();
  for (const workerId of placed.values()) got.set(workerId, (got.get(workerId) ?? 0) + 1);
  writeClaims(s, held, req, rows, placed, soft, claims, feed);
  return { got, exhausted: rows.length < total };
}

function writeClaims(
  s: Statements,
  held: SoftClaims,
  req: ClaimRequest,
  rows: Candidate[],
  placed: Map<string, string>,
  soft: boolean,
  claims: Claim[],
  feed: NewFeedEvent[],
): void {
  const leaseUntil = req.now + req.leaseMs;
  const claimed = (r: Candidate, attempt: number, workerId: string) =>
    feed.push(change("claim", "queued", "running", { ...r, attempts: attempt, workerId }, req.now));
  const chosen = rows.filter((r) => placed.has(r.id));
  if (soft) {
    const heldSince = performance.now();
    for (const r of chosen) {
      const workerId = placed.get(r.id)!;
      const attempt = r.attempts + 1;
      const lease = nextLease();
      held.add({
        seq: r.seq,
        id: r.id,
        queue: r.queue,
        type: r.type,
        owner: r.owner,
        maxAttempts: r.maxAttempts,
        scheduleId: r.scheduleId,
        scheduledTime: r.scheduledTime,
        runAt: r.runAt,
        priority: r.priority,
        workerId,
        attempt,
        lease,
        startedAt: req.now,
        leaseUntil,
        updatedAt: req.now,
        heldSince,
      });
      claims.push(toClaim(r, attempt, workerId, leaseUntil, lease));
      claimed(r, attempt, workerId);
    }
    return;
  }
  const byWorker = new Map<string, Candidate[]>();
  for (const r of chosen) {
    const workerId = placed.get(r.id)!;
    const list = byWorker.get(workerId);
    if (list) list.push(r);
    else byWorker.set(workerId, [r]);
  }
  for (const [workerId, mine] of byWorker) {
    const bySeq = new Map(mine.map((r) => [r.seq, r]));
    const seqs = JSON.stringify(mine.map((r) => r.seq));
    for (const w of s.claimMany.all(workerId, req.now, leaseUntil, req.now, seqs)) {
      const r = bySeq.get(Number(w.seq))!;
      claims.push(toClaim(r, Number(w.attempts), workerId, leaseUntil, w.lease_token as string));
      claimed(r, Number(w.attempts), workerId);
    }
  }
}

/**
 * Tokens of held claims: a random prefix per process and a counter, unique without a random draw per
 * claim (the hot path); written claims get theirs from SQLite (statements.ts, claimMany).
 */
const LEASE_PREFIX = randomBytes(8).toString("hex");
let leaseCounter = 0;
const nextLease = () => `${LEASE_PREFIX}${(++leaseCounter).toString(36)}`;

// Rows come as arrays: measured a third cheaper than node:sqlite's row objects for this hot read.
/** The held rows a scan would meet, as the JSON list of seqs to skip: past the floor (usually none), or
 * all of them when the scan starts from the top. */
function exclusion(held: SoftClaims, after: FloorPosition | null): string | null {
  if (!after) return held.size > 0 ? held.seqsJson() : null;
  const past = held.select((c) => atOrAfter(after, c.priority, c.seq));
  return past.length > 0 ? JSON.stringify(past.map((c) => c.seq)) : null;
}

function toCandidate(row: unknown[]): Candidate {
  const [
    seq,
    id,
    queue,
    type,
    constraints,
    payload,
    attempts,
    timeoutMs,
    maxAttempts,
    scheduledTime,
    owner,
    scheduleId,
    runAt,
    priority,
  ] = row;
  return {
    seq: Number(seq),
    id: id as string,
    queue: queue as string,
    type: type as string,
    constraints: constraints == null ? {} : JSON.parse(constraints as string),
    payload: payload as string,
    attempts: Number(attempts),
    timeoutMs: timeoutMs == null ? null : Number(timeoutMs),
    maxAttempts: Number(maxAttempts),
    scheduledTime: scheduledTime == null ? null : Number(scheduledTime),
    owner: owner as string,
    scheduleId: (scheduleId as string | null) ?? null,
    runAt: Number(runAt),
    priority: Number(priority),
  };
}

function toClaim(r: Candidate, attempt: number, workerId: string, leaseUntil: number, lease: string): Claim {
  return {
    id: r.id,
    attempt,
    workerId,
    lease,
    queue: r.queue,
    type: r.type,
    payload: JSON.parse(r.payload),
    timeoutMs: r.timeoutMs,
    maxAttempts: r.maxAttempts,
    leaseExpiresAt: leaseUntil,
    scheduledTime: r.scheduledTime,
  };
}
