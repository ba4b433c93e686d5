/** Row → domain mapping for PostgreSQL. jsonb arrives parsed and bigint as numbers (see connection.ts). */
import type { Attempt, Backoff, Job, JobError, JobState, JobStatus } from "../../core/job.ts";

type Row = Record<string, unknown>;
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function toJobState(r: Row): JobState {
  return {
    id: r.id as string,
    queue: r.queue as string,
    type: r.type as string,
    status: r.status as JobStatus,
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    owner: r.owner as string,
    workerId: (r.worker_id as string | null) ?? null,
    scheduleId: (r.schedule_id as string | null) ?? null,
    scheduledTime: num(r.scheduled_time),
    runAt: Number(r.run_at),
    startedAt: num(r.started_at),
    finishedAt: num(r.finished_at),
    error: (r.error as JobError | null) ?? null,
  };
}

export function toJob(r: Row): Job {
  return {
    ...toJobState(r),
    seq: Number(r.seq),
    payload: r.payload ?? null,
    priority: Number(r.priority),
    backoff: r.backoff as Backoff,
    timeoutMs: num(r.timeout_ms),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    result: r.result ?? null,
    progress: num(r.progress),
    leaseExpiresAt: num(r.lease_expires_at),
    idempotencyKey: (r.idempotency_key as string | null) ?? null,
    tags: (r.tags as string[] | null) ?? [],
    constraints: (r.constraints as Record<string, string> | null) ?? {},
  };
}

export function toAttempt(r: Row): Attempt {
  const startedAt = Number(r.started_at);
  const finishedAt = Number(r.finished_at);
  return {
    jobId: r.job_id as string,
    attempt: Number(r.attempt),
    status: r.status as Attempt["status"],
    startedAt,
    finishedAt,
    durationMs: finishedAt - startedAt,
    workerId: (r.worker_id as string | null) ?? null,
    exitCode: num(r.exit_code),
    httpStatus: num(r.http_status),
    error: (r.error as JobError | null) ?? null,
  };
}

/** Empty collections are stored as NULL, as in the SQLite backend. */
export const jsonOrNull = (v: unknown): unknown => {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.length === 0 ? null : v;
  if (typeof v === "object" && Object.keys(v as object).length === 0) return null;
  return v;
};
