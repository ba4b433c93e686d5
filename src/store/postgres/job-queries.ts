/** The PostgreSQL job store's reads (lists, counts, attempts, logs) and manual changes (cancel, retry). */
import type { Attempt, Job, JobStatus } from "../../core/job.ts";
import { change } from "../feed.ts";
import type { AuditEntry } from "../identity-store.ts";
import type { ChangeOutcome, JobCounts, JobQuery, LogChunk, StoredLogChunk } from "../store.ts";
import { insertAudit } from "./audit-log.ts";
import type { Sql } from "./connection.ts";
import { appendFeed } from "./feed.ts";
import { toAttempt, toJob } from "./rows.ts";

export async function listJobs(sql: Sql, q: JobQuery): Promise<Job[]> {
  const rows = await sql`SELECT * FROM jobs WHERE true
      ${q.status?.length ? sql`AND status = ANY(${sql.array(q.status, 25)}::text[])` : sql``}
      ${q.queue !== undefined ? sql`AND queue = ${q.queue}` : sql``}
      ${q.type !== undefined ? sql`AND type = ${q.type}` : sql``}
      ${q.owner !== undefined ? sql`AND owner = ${q.owner}` : sql``}
      ${q.scheduleId !== undefined ? sql`AND schedule_id = ${q.scheduleId}` : sql``}
      ${q.tag !== undefined ? sql`AND tags @> ${sql.json([q.tag])}` : sql``}
      ${q.beforeSeq !== undefined ? sql`AND seq < ${q.beforeSeq}` : sql``}
      ORDER BY seq DESC LIMIT ${q.limit}`;
  return rows.map(toJob);
}

export async function listAttempts(sql: Sql, jobId: string): Promise<Attempt[]> {
  return (await sql`SELECT * FROM job_attempts WHERE job_id = ${jobId} ORDER BY attempt`).map(toAttempt);
}

export async function counts(sql: Sql): Promise<JobCounts> {
  const out: JobCounts = { byStatus: {}, byQueue: {} };
  for (const r of await sql`SELECT queue, status, COUNT(*)::int AS n FROM jobs GROUP BY queue, status`) {
    const status = r.status as keyof JobCounts["byStatus"];
    const n = Number(r.n);
    out.byStatus[status] = (out.byStatus[status] ?? 0) + n;
    out.byQueue[r.queue as string] = { ...out.byQueue[r.queue as string], [status]: n };
  }
  return out;
}

export async function appendLogs(sql: Sql, chunks: LogChunk[]): Promise<void> {
  if (chunks.length === 0) return;
  await sql`INSERT INTO job_logs (job_id, at, stream, data)
      SELECT * FROM unnest(${sql.array(
        chunks.map((c) => c.jobId),
        25,
      )}::text[], ${sql.array(
        chunks.map((c) => c.at),
        20,
      )}::bigint[],
        ${sql.array(
          chunks.map((c) => c.stream),
          25,
        )}::text[], ${sql.array(
          chunks.map((c) => c.data),
          25,
        )}::text[])`;
}

export async function logBytes(sql: Sql, jobIds: string[]): Promise<Map<string, number>> {
  const rows = await sql`SELECT job_id, SUM(octet_length(data))::bigint AS bytes FROM job_logs
      WHERE job_id = ANY(${sql.array(jobIds, 25)}::text[]) GROUP BY job_id`;
  return new Map(rows.map((r) => [r.job_id as string, Number(r.bytes)]));
}

export async function readLogs(
  sql: Sql,
  jobId: string,
  afterSeq: number,
  limit: number,
): Promise<StoredLogChunk[]> {
  const rows = await sql`SELECT id, at, stream, data FROM job_logs
      WHERE job_id = ${jobId} AND id > ${afterSeq} ORDER BY id LIMIT ${limit}`;
  return rows.map((r) => ({
    jobId,
    seq: Number(r.id),
    at: Number(r.at),
    stream: r.stream as StoredLogChunk["stream"],
    data: r.data as string,
  }));
}

export function cancelJob(sql: Sql, id: string, now: number, audit?: AuditEntry): Promise<ChangeOutcome> {
  return sql.begin(async (tx) => {
    const [row] = await tx`SELECT * FROM jobs WHERE id = ${id} FOR UPDATE`;
    if (!row) return { ok: false, reason: "not_found" } as const;
    const job = toJob(row);
    if (job.status === "completed" || job.status === "failed" || job.status === "cancelled")
      return { ok: false, reason: "invalid_state", job } as const;
    const error = { code: "CANCELLED", message: "The job was cancelled" };
    const [row2] =
      await tx`UPDATE jobs SET status = 'cancelled', error = ${sql.json(error)}, finished_at = ${now},
        updated_at = ${now}, lease_expires_at = NULL WHERE id = ${id} RETURNING *`;
    const updated = toJob(row2!);
    if (job.status === "running")
      await tx`INSERT INTO job_attempts (job_id, attempt, status, started_at, finished_at, worker_id, error)
          VALUES (${id}, ${job.attempts}, 'cancelled', ${job.startedAt ?? now}, ${now}, ${job.workerId}, ${sql.json(error)})
          ON CONFLICT (job_id, attempt) DO NOTHING`;
    if (audit) await insertAudit(tx, [audit]);
    await appendFeed(tx, [change("cancel", job.status, "cancelled", updated, now, "CANCELLED")]);
    return { ok: true, job: updated } as const;
  });
}

export function retryJob(sql: Sql, id: string, now: number, audit?: AuditEntry): Promise<ChangeOutcome> {
  return sql.begin(async (tx) => {
    const [row] = await tx`SELECT * FROM jobs WHERE id = ${id} FOR UPDATE`;
    if (!row) return { ok: false, reason: "not_found" } as const;
    if (row.status !== "failed" && row.status !== "cancelled")
      return { ok: false, reason: "invalid_state", job: toJob(row) } as const;
    const [row2] = await tx`UPDATE jobs SET status = 'queued', run_at = ${now}, updated_at = ${now},
          finished_at = NULL, error = NULL, result = NULL, worker_id = NULL, max_attempts = attempts + attempt_budget
        WHERE id = ${id} RETURNING *`;
    const updated = toJob(row2!);
    if (audit) await insertAudit(tx, [audit]);
    await appendFeed(tx, [change("retry", row.status as JobStatus, "queued", updated, now)]);
    return { ok: true, job: updated } as const;
  });
}
