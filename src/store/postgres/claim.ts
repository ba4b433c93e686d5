/**
 * Claiming on PostgreSQL. With one waiting worker: a single UPDATE over a FOR UPDATE SKIP LOCKED walk of
 * jobs_ready, constraints checked by jsonb containment. With several, or with peers (workers waiting on
 * other nodes): lock candidates, place them with core/placement.ts (least loaded), and assign the
 * waiters' share with one UPDATE … FROM unnest, in one transaction. Either way the walk itself skips the
 * rows no waiting worker accepts (queue, type, constraints), so any number of them blocks nothing.
 */

import type { TransactionSql } from "postgres";
import type { Claim } from "../../core/job.ts";
import {
  distinctFits,
  type PlaceableJob,
  placeJobs,
  type WaitingWorker,
  type WorkerFit,
} from "../../core/placement.ts";
import { change, type NewFeedEvent } from "../feed.ts";
import type { ClaimRequest, PeerWorker } from "../store.ts";
import type { Sql } from "./connection.ts";
import { appendFeed, feedCte } from "./feed.ts";

const CLAIM = { event: "claim", from: "queued", to: ["running"] } as const;

type Row = Record<string, unknown>;

export async function claimJobs(sql: Sql, req: ClaimRequest): Promise<Claim[]> {
  const workers = req.workers.filter((w) => w.slots > 0);
  if (workers.length === 0) return [];
  const leaseUntil = req.now + req.leaseMs;
  const toClaim = (r: Row, workerId: string): Claim => ({
    id: r.id as string,
    attempt: Number(r.attempts),
    workerId,
    lease: r.lease_token as string,
    queue: r.queue as string,
    type: r.type as string,
    payload: r.payload,
    timeoutMs: r.timeout_ms == null ? null : Number(r.timeout_ms),
    maxAttempts: Number(r.max_attempts),
    leaseExpiresAt: leaseUntil,
    scheduledTime: r.scheduled_time == null ? null : Number(r.scheduled_time),
  });
  const claimed = (r: Row, workerId: string): NewFeedEvent =>
    change(
      "claim",
      "queued",
      "running",
      {
        id: r.id as string,
        owner: r.owner as string,
        queue: r.queue as string,
        type: r.type as string,
        scheduleId: (r.schedule_id as string | null) ?? null,
        attempts: Number(r.attempts),
        workerId,
      },
      req.now,
    );
  const peers = req.peers ?? [];
  if (workers.length === 1 && peers.length === 0) {
    // One waiter: a single statement; jsonb containment (constraints <@ labels) is the placement rule.
    const w = workers[0]!;
    // One statement, one round trip: the claims and their feed rows.
    const rows = await sql`WITH got AS (
        UPDATE jobs SET status = 'running', attempts = attempts + 1, worker_id = ${w.workerId},
          started_at = ${req.now}, lease_expires_at = ${leaseUntil}, updated_at = ${req.now}, progress = NULL,
          lease_token = gen_random_uuid()::text
        WHERE seq IN (
          SELECT seq FROM jobs WHERE ${fitFilter(sql, [w])}
          ORDER BY priority DESC, seq LIMIT ${w.slots} FOR UPDATE SKIP LOCKED)
        RETURNING id, attempts, queue, type, payload, timeout_ms, max_attempts, scheduled_time, owner, schedule_id,
          lease_token, worker_id, status),
      ${feedCte(sql, "got", CLAIM, req.now)}
      SELECT * FROM got`;
    return rows.map((r) => toClaim(r, w.workerId));
  }
  let leftForPeers = 0;
  const claims = await sql.begin(async (tx) => {
    const out: Claim[] = [];
    const feed: NewFeedEvent[] = [];
    // With peers, every load comes from the jobs table: a waiter's own `running` is as old as its poll
    // (a long-poll can be 30 s old), and weighed against fresh peer counts two nodes would each leave a
    // batch for the other's worker.
    const running = await runningCounts(tx, peers.length > 0 ? [...workers, ...peers] : []);
    let others = peerLoads(peers, running);
    let mine: WaitingWorker[] =
      peers.length > 0 ? workers.map((w) => ({ ...w, running: running.get(w.workerId) ?? 0 })) : workers;
    const seen: number[] = [];
    // A row left over fits only workers that filled up in that pass, so a further pass for the others
    // reads past it; each further pass has fewer workers. Rows read before are not read again.
    while (mine.length > 0) {
      const total = [...mine, ...others].reduce((n, w) => n + w.slots, 0);
      const rows = await tx`SELECT seq, id, queue, type, constraints FROM jobs WHERE ${fitFilter(sql, mine)}
          ${seen.length > 0 ? tx`AND seq <> ALL(${tx.array(seen, 20)}::bigint[])` : tx``}
          ORDER BY priority DESC, seq LIMIT ${total} FOR UPDATE SKIP LOCKED`;
      const seqOf = new Map<string, number>();
      const candidates: PlaceableJob[] = rows.map((r) => {
        seqOf.set(r.id as string, Number(r.seq));
        seen.push(Number(r.seq));
        return {
          id: r.id as string,
          queue: r.queue as string,
          type: r.type as string,
          constraints: (r.constraints as Record<string, string>) ?? {},
        };
      });
      const placed = placeJobs(candidates, mine, others);
      const waiterIds = new Set(mine.map((w) => w.workerId));
      const ours = [...placed].filter(([, w]) => waiterIds.has(w));
      leftForPeers += placed.size - ours.length;
      if (ours.length > 0) {
        const claimedRows =
          await tx`UPDATE jobs SET status = 'running', attempts = attempts + 1, worker_id = p.worker_id,
              started_at = ${req.now}, lease_expires_at = ${leaseUntil}, updated_at = ${req.now}, progress = NULL,
              lease_token = gen_random_uuid()::text
            FROM unnest(${tx.array(
              ours.map(([id]) => seqOf.get(id)!),
              20,
            )}::bigint[], ${tx.array(
              ours.map(([, w]) => w),
              25,
            )}::text[])
              AS p(seq, worker_id)
            WHERE jobs.seq = p.seq
            RETURNING jobs.id, jobs.attempts, jobs.queue, jobs.type, jobs.payload, jobs.timeout_ms, jobs.max_attempts, jobs.worker_id, jobs.scheduled_time, jobs.owner, jobs.schedule_id, jobs.lease_token`;
        for (const r of claimedRows) {
          out.push(toClaim(r, r.worker_id as string));
          feed.push(claimed(r, r.worker_id as string));
        }
      }
      if (rows.length < total) break;
      const given = new Map<string, number>();
      for (const w of placed.values()) given.set(w, (given.get(w) ?? 0) + 1);
      const less = (w: WaitingWorker): WaitingWorker => {
        const n = given.get(w.workerId) ?? 0;
        return { ...w, slots: w.slots - n, running: w.running + n };
      };
      mine = mine.map(less).filter((w) => w.slots > 0);
      others = others.map(less).filter((w) => w.slots > 0);
    }
    await appendFeed(tx, feed);
    return out;
  });
  if (leftForPeers > 0) req.onLeftForPeers?.(leftForPeers);
  return claims;
}

/** How many running jobs each of these workers holds, from the jobs table. */
async function runningCounts(
  tx: TransactionSql,
  workers: { workerId: string }[],
): Promise<Map<string, number>> {
  if (workers.length === 0) return new Map();
  const rows = await tx`SELECT worker_id, COUNT(*)::int AS n FROM jobs
      WHERE status = 'running' AND worker_id = ANY(${tx.array(
        [...new Set(workers.map((w) => w.workerId))],
        25,
      )}::text[])
      GROUP BY worker_id`;
  return new Map(rows.map((r) => [r.worker_id as string, Number(r.n)]));
}

/** Peers as placement sees them: what they run now and what they can add (never beyond capacity). */
function peerLoads(peers: PeerWorker[], running: Map<string, number>): WaitingWorker[] {
  return peers
    .map((p) => {
      const n = running.get(p.workerId) ?? 0;
      return { ...p, running: n, slots: Math.max(0, p.capacity - n) };
    })
    .filter((p) => p.slots > 0);
}

/**
 * The ready rows one of these workers accepts. Queue and type filter the walk of jobs_ready in priority
 * order (bitmap scans are off for Bosun's sessions, see connection.ts, so the planner cannot turn this
 * into a sort of every queued job); with several distinct fits, each row must satisfy one of them.
 */
function fitFilter(sql: Sql, workers: readonly WorkerFit[]) {
  const fits = distinctFits(workers);
  const queues = fits.some((w) => w.queues === null) ? null : [...new Set(fits.flatMap((w) => w.queues!))];
  const types = fits.some((w) => w.types === null) ? null : [...new Set(fits.flatMap((w) => w.types!))];
  const fit =
    fits.length === 1
      ? sql`AND (constraints IS NULL OR constraints <@ ${sql.json(fits[0]!.labels)})`
      : sql`AND EXISTS (SELECT 1 FROM jsonb_array_elements(${sql.json(
          fits.map((f) => ({ l: f.labels, q: f.queues, t: f.types })),
        )}) AS f(s)
          WHERE (s ->> 'q' IS NULL OR (s -> 'q') ? jobs.queue)
            AND (s ->> 't' IS NULL OR (s -> 't') ? jobs.type)
            AND (jobs.constraints IS NULL OR jobs.constraints <@ (s -> 'l')))`;
  return sql`status = 'queued'
      ${queues ? sql`AND queue = ANY(${sql.array(queues, 25)}::text[])` : sql``}
      ${types ? sql`AND type = ANY(${sql.array(types, 25)}::text[])` : sql``}
      ${fit}`;
}
