/**
 * Failed attempts on SQLite, inside the caller's transaction: a failure a worker reports, and the reap
 * of leases the server found dead (expired, or their worker gone). Each decides the next attempt by the
 * backoff, records the attempt and adds its change to the caller's feed batch.
 */
import { decideAfterFailure } from "../../core/backoff.ts";
import type { Attempt, Backoff, JobError, JobState } from "../../core/job.ts";
import { failureEvent } from "../../core/lifecycle.ts";
import { change, type NewFeedEvent } from "../feed.ts";
import type { FailInput, FinishOutcome } from "../store.ts";
import { toJobState } from "./rows.ts";
import type { Statements } from "./statements.ts";

/** Fails one written lease (the caller wrote held ones first); stale when the lease is not current. */
export function failLease(s: Statements, f: FailInput, now: number, feed: NewFeedEvent[]): FinishOutcome {
  const cur = s.leaseRow.get(f.jobId, f.lease, f.workerId);
  if (!cur) return { ok: false, jobId: f.jobId };
  const decision = decideAfterFailure(
    {
      attempts: Number(cur.attempts),
      maxAttempts: Number(cur.max_attempts),
      backoff: JSON.parse(cur.backoff as string) as Backoff,
    },
    f.retryable,
    now,
  );
  const row = s.failOne.get(
    decision.status,
    decision.runAt,
    JSON.stringify(f.error),
    decision.status === "failed" ? now : null,
    now,
    f.jobId,
  );
  const job = toJobState(row!);
  feed.push(change(failureEvent(f.error.code, job.status), "running", job.status, job, now, f.error.code));
  insertAttempt(
    s,
    { ...job, startedAt: Number(cur.started_at) },
    f.attempt,
    "failed",
    now,
    f.exitCode ?? null,
    f.httpStatus ?? null,
    f.error,
  );
  return { ok: true, job };
}

/** Fails the leases of these rows (id, attempts, worker_id, lease_token) with the server's reason. */
export function reapRows(
  s: Statements,
  rows: Record<string, unknown>[],
  code: string,
  message: string,
  now: number,
  feed: NewFeedEvent[],
): JobState[] {
  const out: JobState[] = [];
  for (const r of rows) {
    const outcome = failLease(
      s,
      {
        jobId: r.id as string,
        lease: r.lease_token as string,
        attempt: Number(r.attempts),
        workerId: r.worker_id as string,
        error: { code, message },
        retryable: true,
      },
      now,
      feed,
    );
    if (outcome.ok) out.push(outcome.job);
  }
  return out;
}

export function insertAttempt(
  s: Statements,
  job: JobState,
  attempt: number,
  status: Attempt["status"],
  now: number,
  exitCode: number | null,
  httpStatus: number | null,
  error: JobError | null,
): void {
  s.insertAttempt.run(
    job.id,
    attempt,
    status,
    job.startedAt ?? now,
    now,
    job.workerId,
    exitCode,
    httpStatus,
    error === null ? null : JSON.stringify(error),
  );
}
