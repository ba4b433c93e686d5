/** The SQLite job store's reads that build rows into views: lists, counts, logs (PostgreSQL's twin: postgres/job-queries.ts). */
import type { DatabaseSync } from "node:sqlite";
import type { Attempt, Job } from "../../core/job.ts";
import type { JobCounts, JobQuery, StoredLogChunk } from "../store.ts";
import { toAttempt, toJob } from "./rows.ts";
import { type SoftClaims, seen } from "./soft-claims.ts";
import type { Statements } from "./statements.ts";

/** Rows as readers must see them: soft-claimed rows (still `queued` in the file) are running. */
export function overlay(jobs: Job[], held: SoftClaims): Job[] {
  return held.size === 0 ? jobs : jobs.map((j) => seen(j, held));
}

/**
 * With a status filter, soft-claimed rows must match as `running`, not as the `queued` of the file: the
 * SQL leaves them out, and when `running` is asked for they are read by id (there are at most a few
 * hundred), filtered here and merged in seq order.
 */
export function listJobs(db: DatabaseSync, s: Statements, q: JobQuery, held: SoftClaims): Job[] {
  const sqlRows = listRows(db, q, q.status?.length && held.size > 0 ? held.seqsJson() : null);
  if (!q.status?.includes("running") || held.size === 0) return overlay(sqlRows, held);
  const extra = s.byIds
    .all(JSON.stringify(Array.from(held.values(), (c) => c.id)))
    .map(toJob)
    .filter(
      (j) =>
        (q.queue === undefined || j.queue === q.queue) &&
        (q.type === undefined || j.type === q.type) &&
        (q.owner === undefined || j.owner === q.owner) &&
        (q.scheduleId === undefined || j.scheduleId === q.scheduleId) &&
        (q.tag === undefined || j.tags.includes(q.tag)) &&
        (q.beforeSeq === undefined || j.seq < q.beforeSeq),
    );
  return overlay([...sqlRows, ...extra].sort((a, b) => b.seq - a.seq).slice(0, q.limit), held);
}

function listRows(db: DatabaseSync, q: JobQuery, excludeSeqs: string | null): Job[] {
  // A fixed set of optional clauses, each with its own index; values are always bound.
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (q.status?.length) {
    where.push("status IN (SELECT value FROM json_each(?))");
    params.push(JSON.stringify(q.status));
    if (excludeSeqs !== null)
      where.push("seq NOT IN (SELECT value FROM json_each(?))") && params.push(excludeSeqs);
  }
  if (q.queue !== undefined) where.push("queue = ?") && params.push(q.queue);
  if (q.type !== undefined) where.push("type = ?") && params.push(q.type);
  if (q.owner !== undefined) where.push("owner = ?") && params.push(q.owner);
  if (q.scheduleId !== undefined) where.push("schedule_id = ?") && params.push(q.scheduleId);
  // No index on tags: the scan walks seq DESC and stops at LIMIT, so a common tag is cheap; a rare one
  // reads further (still one page per request, the keyset cursor bounds it from above).
  if (q.tag !== undefined)
    where.push("EXISTS (SELECT 1 FROM json_each(jobs.tags) WHERE value = ?)") && params.push(q.tag);
  if (q.beforeSeq !== undefined) where.push("seq < ?") && params.push(q.beforeSeq);
  const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`;
  params.push(q.limit);
  return db
    .prepare(sql)
    .all(...params)
    .map(toJob);
}

export function counts(s: Statements, held: SoftClaims): JobCounts {
  const out: JobCounts = { byStatus: {}, byQueue: {} };
  const add = (queue: string, status: keyof JobCounts["byStatus"], n: number) => {
    const total = (out.byStatus[status] ?? 0) + n;
    if (total === 0) delete out.byStatus[status];
    else out.byStatus[status] = total;
    out.byQueue[queue] ??= {};
    const perQueue = out.byQueue[queue];
    const inQueue = (perQueue[status] ?? 0) + n;
    if (inQueue === 0) delete perQueue[status];
    else perQueue[status] = inQueue;
  };
  for (const r of s.counts.all())
    add(r.queue as string, r.status as keyof JobCounts["byStatus"], Number(r.n));
  for (const c of held.values()) {
    add(c.queue, "queued", -1);
    add(c.queue, "running", 1);
  }
  return out;
}

/**
 * Failed and cancelled attempts are rows of job_attempts; the successful last one is the job row itself
 * (a completion is one write). Files from before migration 005 also hold it as a row: read once.
 */
export function listAttempts(s: Statements, jobId: string): Attempt[] {
  const attempts = s.attempts.all(jobId).map(toAttempt);
  const final = s.finalAttempt.get(jobId);
  if (final && !attempts.some((a) => a.attempt === Number(final.attempt)))
    attempts.push(toAttempt({ ...final, started_at: final.started_at ?? final.finished_at ?? null }));
  return attempts;
}

export function readLogs(s: Statements, jobId: string, afterSeq: number, limit: number): StoredLogChunk[] {
  return s.readLogs.all(jobId, afterSeq, limit).map((r) => ({
    jobId,
    seq: Number(r.seq),
    at: Number(r.at),
    stream: r.stream as StoredLogChunk["stream"],
    data: r.data as string,
  }));
}

export function logBytes(db: DatabaseSync, jobIds: string[]): Map<string, number> {
  const rows = db
    .prepare(
      `SELECT job_id, SUM(length(CAST(data AS BLOB))) AS bytes FROM job_logs
       WHERE job_id IN (SELECT value FROM json_each(?)) GROUP BY job_id`,
    )
    .all(JSON.stringify(jobIds));
  return new Map(rows.map((r) => [r.job_id as string, Number(r.bytes)]));
}
