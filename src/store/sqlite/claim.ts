/**
 * Claiming on SQLite: read the first ready rows (skipping those already held in memory), place them on
 * the waiting workers (core/placement.ts), then either hold the claims in memory (soft-claims.ts) or
 * write them as leases, one set-based UPDATE per worker (a third cheaper per job than one per row).
 */
import type { Claim } from "../../core/job.ts";
import { type PlaceableJob, placeJobs } from "../../core/placement.ts";
import type { ClaimRequest } from "../store.ts";
import type { SoftClaims } from "./soft-claims.ts";
import type { Statements } from "./statements.ts";

type Row = Record<string, unknown>;

/** Extra candidates read when some of the first ones fit none of the waiting workers. */
const CLAIM_LOOKAHEAD = 64;

export function claimJobs(s: Statements, held: SoftClaims, req: ClaimRequest, soft: boolean): Claim[] {
  const total = req.workers.reduce((n, w) => n + w.slots, 0);
  if (total === 0) return [];
  const anyQueue = req.workers.some((w) => w.queues === null);
  const anyType = req.workers.some((w) => w.types === null);
  const queues = anyQueue ? null : JSON.stringify([...new Set(req.workers.flatMap((w) => w.queues ?? []))]);
  const types = anyType ? null : JSON.stringify([...new Set(req.workers.flatMap((w) => w.types ?? []))]);
  let rows = s.candidates.all(held.seqsJson(), queues, queues, types, types, total);
  let placed = place(rows, req);
  // Jobs that fit none of these workers (constraints, or another waiter's queue) must not block the
  // rest: read further, once. A single pool without constraints never needs it.
  if (placed.jobs.size < total && rows.length === total) {
    rows = s.candidates.all(held.seqsJson(), queues, queues, types, types, total + CLAIM_LOOKAHEAD);
    placed = place(rows, req);
  }
  const leaseUntil = req.now + req.leaseMs;
  const claims: Claim[] = [];
  if (soft) {
    const heldSince = performance.now();
    for (const [id, workerId] of placed.jobs) {
      const r = placed.rows.get(id)!;
      const attempt = Number(r.attempts) + 1;
      held.add({
        seq: Number(r.seq),
        id,
        queue: r.queue as string,
        type: r.type as string,
        owner: r.owner as string,
        maxAttempts: Number(r.max_attempts),
        scheduleId: (r.schedule_id as string | null) ?? null,
        scheduledTime: r.scheduled_time == null ? null : Number(r.scheduled_time),
        runAt: Number(r.run_at),
        workerId,
        attempt,
        startedAt: req.now,
        leaseUntil,
        heldSince,
      });
      claims.push(toClaim(r, attempt, workerId, leaseUntil));
    }
    return claims;
  }
  const byWorker = new Map<string, number[]>();
  for (const [id, workerId] of placed.jobs) {
    const seq = Number(placed.rows.get(id)!.seq);
    const list = byWorker.get(workerId);
    if (list) list.push(seq);
    else byWorker.set(workerId, [seq]);
  }
  for (const [workerId, seqs] of byWorker)
    for (const r of s.claimMany.all(workerId, req.now, leaseUntil, req.now, JSON.stringify(seqs)))
      claims.push(toClaim(r, Number(r.attempts), workerId, leaseUntil));
  return claims;
}

function place(rows: Row[], req: ClaimRequest) {
  const byId = new Map<string, Row>();
  const candidates: PlaceableJob[] = rows.map((r) => {
    byId.set(r.id as string, r);
    return {
      id: r.id as string,
      queue: r.queue as string,
      type: r.type as string,
      constraints: r.constraints == null ? {} : JSON.parse(r.constraints as string),
    };
  });
  return { jobs: placeJobs(candidates, req.workers), rows: byId };
}

function toClaim(r: Row, attempt: number, workerId: string, leaseUntil: number): Claim {
  return {
    id: r.id as string,
    attempt,
    workerId,
    queue: r.queue as string,
    type: r.type as string,
    payload: JSON.parse(r.payload as string),
    timeoutMs: r.timeout_ms == null ? null : Number(r.timeout_ms),
    maxAttempts: Number(r.max_attempts),
    leaseExpiresAt: leaseUntil,
    scheduledTime: r.scheduled_time == null ? null : Number(r.scheduled_time),
  };
}
