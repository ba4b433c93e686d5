/** Row ↔ domain mapping for the SQLite backend. JSON columns are parsed here and nowhere else. */
import type { Attempt, Backoff, Job, JobError, JobState, JobStatus } from "../../core/job.ts";

type Row = Record<string, unknown>;

const json = <T>(v: unknown, fallback: T): T => (typeof v === "string" ? (JSON.parse(v) as T) : fallback);
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export const JOB_STATE_COLUMNS =
  "id, queue, type, status, attempts, max_attempts, owner, worker_id, schedule_id, scheduled_time, run_at, started_at, finished_at, error";

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
    error: json<JobError | null>(r.error, null),
  };
}

export function toJob(r: Row): Job {
  return {
    ...toJobState(r),
    seq: Number(r.seq),
    payload: json<unknown>(r.payload, null),
    priority: Number(r.priority),
    backoff: json<Backoff>(r.backoff, { type: "exponential", delayMs: 1000 }),
    timeoutMs: num(r.timeout_ms),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    result: json<unknown>(r.result, null),
    progress: num(r.progress),
    leaseExpiresAt: num(r.lease_expires_at),
    idempotencyKey: (r.idempotency_key as string | null) ?? null,
    tags: json<string[]>(r.tags, []),
    constraints: json<Record<string, string>>(r.constraints, {}),
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
    error: json<JobError | null>(r.error, null),
  };
}

/** JSON for optional columns: empty collections are stored as NULL to keep rows small. */
export const jsonOrNull = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v) && v.length === 0) return null;
  if (typeof v === "object" && !Array.isArray(v) && Object.keys(v as object).length === 0) return null;
  return JSON.stringify(v);
};
