/** The SQLite job store's reads that build rows into views: lists, counts, logs (PostgreSQL's twin: postgres/job-queries.ts). */
import type { DatabaseSync } from "node:sqlite";
import type { Job } from "../../core/job.ts";
import type { JobCounts, JobQuery, StoredLogChunk } from "../store.ts";
import { toJob } from "./rows.ts";
import type { Statements } from "./statements.ts";

export function listJobs(db: DatabaseSync, q: JobQuery): Job[] {
  // A fixed set of optional clauses, each with its own index; values are always bound.
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
  if (q.beforeSeq !== undefined) where.push("seq < ?") && params.push(q.beforeSeq);
  const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`;
  params.push(q.limit);
  return db
    .prepare(sql)
    .all(...params)
    .map(toJob);
}

export function counts(s: Statements): JobCounts {
  const out: JobCounts = { byStatus: {}, byQueue: {} };
  for (const r of s.counts.all()) {
    const status = r.status as keyof JobCounts["byStatus"];
    const n = Number(r.n);
    out.byStatus[status] = (out.byStatus[status] ?? 0) + n;
    const queue = r.queue as string;
    out.byQueue[queue] = { ...out.byQueue[queue], [status]: n };
  }
  return out;
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
