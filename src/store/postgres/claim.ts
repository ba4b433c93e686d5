/**
 * Claiming on PostgreSQL. With one waiting worker: a single UPDATE over a FOR UPDATE SKIP LOCKED walk of
 * jobs_ready, constraints checked by jsonb containment. With several: lock candidates, place them with
 * core/placement.ts (least loaded), and assign them with one UPDATE … FROM unnest, in one transaction.
 */
import type { Claim } from "../../core/job.ts";
import { type PlaceableJob, placeJobs } from "../../core/placement.ts";
import type { ClaimRequest } from "../store.ts";
import type { Sql } from "./connection.ts";

/** Extra candidates read per claim so that jobs whose constraints fit nobody do not block the rest. */
const CLAIM_LOOKAHEAD = 64;

export async function claimJobs(sql: Sql, req: ClaimRequest): Promise<Claim[]> {
  const total = req.workers.reduce((n, w) => n + w.slots, 0);
  if (total === 0) return [];
  const leaseUntil = req.now + req.leaseMs;
  const queues = req.workers.some((w) => w.queues === null)
    ? null
    : [...new Set(req.workers.flatMap((w) => w.queues!))];
  const types = req.workers.some((w) => w.types === null)
    ? null
    : [...new Set(req.workers.flatMap((w) => w.types!))];
  // Queue and type filter the walk of jobs_ready in priority order (bitmap scans are off for Bosun's
  // sessions, see connection.ts, so the planner cannot turn this into a sort of every queued job).
  const filters = sql`status = 'queued'
      ${queues ? sql`AND queue = ANY(${sql.array(queues, 25)}::text[])` : sql``}
      ${types ? sql`AND type = ANY(${sql.array(types, 25)}::text[])` : sql``}`;
  const toClaim = (r: Record<string, unknown>, workerId: string): Claim => ({
    id: r.id as string,
    attempt: Number(r.attempts),
    workerId,
    queue: r.queue as string,
    type: r.type as string,
    payload: r.payload,
    timeoutMs: r.timeout_ms == null ? null : Number(r.timeout_ms),
    maxAttempts: Number(r.max_attempts),
    leaseExpiresAt: leaseUntil,
    scheduledTime: r.scheduled_time == null ? null : Number(r.scheduled_time),
  });
  if (req.workers.length === 1) {
    // One waiter: a single statement; jsonb containment (constraints <@ labels) is the placement rule.
    const w = req.workers[0]!;
    const rows =
      await sql`UPDATE jobs SET status = 'running', attempts = attempts + 1, worker_id = ${w.workerId},
          started_at = ${req.now}, lease_expires_at = ${leaseUntil}, updated_at = ${req.now}, progress = NULL
        WHERE seq IN (
          SELECT seq FROM jobs WHERE ${filters}
            AND (constraints IS NULL OR constraints <@ ${sql.json(w.labels)})
          ORDER BY priority DESC, seq LIMIT ${w.slots} FOR UPDATE SKIP LOCKED)
        RETURNING id, attempts, queue, type, payload, timeout_ms, max_attempts, scheduled_time`;
    return rows.map((r) => toClaim(r, w.workerId));
  }
  return sql.begin(async (tx) => {
    const rows = await tx`SELECT seq, id, queue, type, constraints FROM jobs WHERE ${filters}
        ORDER BY priority DESC, seq LIMIT ${total + CLAIM_LOOKAHEAD} FOR UPDATE SKIP LOCKED`;
    const seqOf = new Map<string, number>();
    const candidates: PlaceableJob[] = rows.map((r) => {
      seqOf.set(r.id as string, Number(r.seq));
      return {
        id: r.id as string,
        queue: r.queue as string,
        type: r.type as string,
        constraints: (r.constraints as Record<string, string>) ?? {},
      };
    });
    const placed = [...placeJobs(candidates, req.workers)];
    if (placed.length === 0) return [];
    const claimed =
      await tx`UPDATE jobs SET status = 'running', attempts = attempts + 1, worker_id = p.worker_id,
          started_at = ${req.now}, lease_expires_at = ${leaseUntil}, updated_at = ${req.now}, progress = NULL
        FROM unnest(${sql.array(
          placed.map(([id]) => seqOf.get(id)!),
          20,
        )}::bigint[], ${sql.array(
          placed.map(([, w]) => w),
          25,
        )}::text[])
          AS p(seq, worker_id)
        WHERE jobs.seq = p.seq
        RETURNING jobs.id, jobs.attempts, jobs.queue, jobs.type, jobs.payload, jobs.timeout_ms, jobs.max_attempts, jobs.worker_id, jobs.scheduled_time`;
    return claimed.map((r) => toClaim(r, r.worker_id as string));
  });
}
