/**
 * The SQLite job store's reads that build rows into views: lists, counts, logs (PostgreSQL's twin:
 * postgres/job-queries.ts). Each reads through the `jobs` view (jobs-view.ts), so held claims are running
 * jobs here like any other and nothing below knows about them.
 */
import type { DatabaseSync } from "node:sqlite";
import type { Attempt, Job } from "../../core/job.ts";
import type { JobCounts, JobQuery, StoredLogChunk } from "../store.ts";
import { toAttempt, toJob } from "./rows.ts";
import type { Statements } from "./statements.ts";

export function listJobs(s: Statements, q: JobQuery): Job[] {
  // A fixed set of optional clauses, each with its own index; values are always bound. One statement per
  // set of clauses, prepared once (over the view a prepare costs ~0.2 ms, more than the read).
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (q.status?.length) {
    where.push("status IN (SELECT value FROM json_each(?))");
    params.push(JSON.stringify(q.status));
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
  return s
    .cached(sql)
    .all(...params)
    .map(toJob);
}

export function counts(s: Statements): JobCounts {
  const out: JobCounts = { byStatus: {}, byQueue: {} };
  for (const r of s.counts.all()) {
    const status = r.status as keyof JobCounts["byStatus"];
    const n = Number(r.n);
    out.byStatus[status] = (out.byStatus[status] ?? 0) + n;
    out.byQueue[r.queue as string] ??= {};
    out.byQueue[r.queue as string]![status] = n;
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
