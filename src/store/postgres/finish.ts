/**
 * The ends of attempts on PostgreSQL: complete, fail (with reap, which fails leases the server found
 * dead) and release. Each names its leases by token, changes every job of the batch in one statement
 * joined to unnest arrays, records the attempts, and appends the changes to the feed.
 */
import type postgres from "postgres";
import { decideAfterFailure } from "../../core/backoff.ts";
import type { Backoff } from "../../core/job.ts";
import { failureEvent } from "../../core/lifecycle.ts";
import { change } from "../feed.ts";
import type { CompleteInput, FailInput, FinishOutcome, LeaseRef } from "../store.ts";
import type { Sql } from "./connection.ts";
import { appendFeed, feedCte } from "./feed.ts";
import { toJobState } from "./rows.ts";

const TEXT = 25;
const INT = 23;
const BIGINT = 20;

/** The columns of a JobState. */
export const STATE = [
  "id",
  "queue",
  "type",
  "status",
  "attempts",
  "max_attempts",
  "owner",
  "worker_id",
  "schedule_id",
  "scheduled_time",
  "run_at",
  "started_at",
  "finished_at",
  "error",
];

/**
 * "Still holds this lease", for batches `i` (with a `lease` column) joined to jobs `j` by id. A job is
 * running exactly while it has a lease (every statement that ends an attempt clears lease_expires_at),
 * and saying so with the lease rather than the status leaves no status index (jobs_running,
 * jobs_status_seq) for the planner to pick: with stale statistics it hashed every running job per batch
 * — 50 ms per 500 completions with 20,000 running — where the id index costs what the batch holds.
 */
export const holdsLease = (sql: Sql) => sql`j.lease_expires_at IS NOT NULL AND j.lease_token = i.lease`;

/**
 * The ends of an attempt also name the worker: only the one the claim went to holds the lease, so a token
 * seen by another worker (in a log, say) names no lease of its.
 */
const heldBy = (sql: Sql) => sql`${holdsLease(sql)} AND j.worker_id = i.worker`;

const COMPLETE = { event: "complete", from: "running", to: ["completed"] } as const;

/** Each item's outcome from the rows changed; the same lease twice in a batch applies once. */
function outcomes(
  items: readonly { jobId: string }[],
  rows: readonly Record<string, unknown>[],
): FinishOutcome[] {
  const byId = new Map(rows.map((r) => [r.id as string, toJobState(r)]));
  return items.map((item) => {
    const job = byId.get(item.jobId);
    byId.delete(item.jobId);
    return job ? { ok: true, job } : { ok: false, jobId: item.jobId };
  });
}

export async function completeJobs(sql: Sql, items: CompleteInput[], now: number): Promise<FinishOutcome[]> {
  if (items.length === 0) return [];
  // One statement, one round trip: the change, its attempt record and its feed row.
  const rows = await sql`WITH input AS (
      SELECT * FROM unnest(${sql.array(
        items.map((c) => c.jobId),
        TEXT,
      )}::text[], ${sql.array(
        items.map((c) => c.lease),
        TEXT,
      )}::text[], ${sql.array(
        items.map((c) => c.resultJson ?? JSON.stringify(c.result ?? null)),
        TEXT,
      )}::text[],
        ${sql.array(
          items.map((c) => c.exitCode ?? null),
          INT,
        )}::int[], ${sql.array(
          items.map((c) => c.httpStatus ?? null),
          INT,
        )}::int[], ${sql.array(
          items.map((c) => c.workerId),
          TEXT,
        )}::text[])
        AS t(id, lease, result, exit_code, http_status, worker)),
    done AS (
      UPDATE jobs j SET status = 'completed', result = i.result::jsonb, finished_at = ${now}, updated_at = ${now},
        lease_expires_at = NULL, error = NULL
      FROM input i
      WHERE j.id = i.id AND ${heldBy(sql)}
      RETURNING j.*, i.exit_code AS in_exit_code, i.http_status AS in_http_status),
    attempts AS (
      INSERT INTO job_attempts (job_id, attempt, status, started_at, finished_at, worker_id, exit_code, http_status)
      SELECT id, attempts, 'completed', COALESCE(started_at, ${now}), ${now}, worker_id, in_exit_code, in_http_status FROM done
      ON CONFLICT (job_id, attempt) DO NOTHING),
    ${feedCte(sql, "done", COMPLETE, now)}
    SELECT ${sql(STATE)} FROM done`;
  return outcomes(items, rows);
}

/**
 * Fails attempts inside a transaction: lock the current leases, decide in JS (backoff), write in one
 * go, and append the changes to the feed, the transaction's last statement.
 */
export async function failJobs(
  sql: Sql,
  tx: postgres.TransactionSql,
  items: FailInput[],
  now: number,
): Promise<FinishOutcome[]> {
  const current = await tx`SELECT j.id, j.attempts, j.max_attempts, j.backoff
    FROM jobs j JOIN unnest(${sql.array(
      items.map((f) => f.jobId),
      TEXT,
    )}::text[], ${sql.array(
      items.map((f) => f.lease),
      TEXT,
    )}::text[], ${sql.array(
      items.map((f) => f.workerId),
      TEXT,
    )}::text[]) AS i(id, lease, worker)
      ON j.id = i.id AND ${heldBy(sql)}
    FOR UPDATE OF j`;
  const held = new Map(current.map((r) => [r.id as string, r]));
  const apply = items.filter((f) => held.has(f.jobId));
  if (apply.length === 0) return items.map((f) => ({ ok: false, jobId: f.jobId }));
  const decisions = apply.map((f) => {
    const r = held.get(f.jobId)!;
    return decideAfterFailure(
      { attempts: Number(r.attempts), maxAttempts: Number(r.max_attempts), backoff: r.backoff as Backoff },
      f.retryable,
      now,
    );
  });
  const col = <T>(fn: (f: FailInput, i: number) => T) => apply.map(fn);
  const rows = await tx`WITH input AS (
      SELECT * FROM unnest(${sql.array(
        col((f) => f.jobId),
        TEXT,
      )}::text[], ${sql.array(
        col((_f, i) => decisions[i]!.status),
        TEXT,
      )}::text[],
        ${sql.array(
          col((_f, i) => decisions[i]!.runAt),
          BIGINT,
        )}::bigint[], ${sql.array(
          col((f) => JSON.stringify(f.error)),
          TEXT,
        )}::text[],
        ${sql.array(
          col((f) => f.attempt),
          INT,
        )}::int[], ${sql.array(
          col((f) => f.exitCode ?? null),
          INT,
        )}::int[],
        ${sql.array(
          col((f) => f.httpStatus ?? null),
          INT,
        )}::int[])
        AS t(id, status, run_at, error, attempt, exit_code, http_status)),
    failed AS (
      UPDATE jobs j SET status = i.status, run_at = i.run_at, error = i.error::jsonb,
        finished_at = CASE WHEN i.status = 'failed' THEN ${now}::bigint ELSE NULL END,
        updated_at = ${now}, lease_expires_at = NULL
      FROM input i WHERE j.id = i.id
      RETURNING j.*, i.attempt AS in_attempt, i.exit_code AS in_exit_code, i.http_status AS in_http_status,
        i.error AS in_error),
    attempts AS (
      INSERT INTO job_attempts (job_id, attempt, status, started_at, finished_at, worker_id, exit_code, http_status, error)
      SELECT id, in_attempt, 'failed', COALESCE(started_at, ${now}), ${now}, worker_id, in_exit_code, in_http_status,
        in_error::jsonb FROM failed
      ON CONFLICT (job_id, attempt) DO NOTHING)
    SELECT ${sql(STATE)} FROM failed`;
  const codes = new Map(apply.map((f) => [f.jobId, f.error.code]));
  await appendFeed(
    tx,
    rows.map((r) => {
      const job = toJobState(r);
      const code = codes.get(job.id)!;
      return change(failureEvent(code, job.status), "running", job.status, job, now, code);
    }),
  );
  return outcomes(items, rows);
}

/** Gives leases back without spending their attempts; the feed names the attempt that was released. */
export async function releaseJobs(sql: Sql, items: LeaseRef[], now: number): Promise<FinishOutcome[]> {
  if (items.length === 0) return [];
  const rows = await sql.begin(async (tx) => {
    const released =
      await tx`UPDATE jobs j SET status = 'queued', attempts = j.attempts - 1, worker_id = NULL,
        started_at = NULL, lease_expires_at = NULL, run_at = ${now}, updated_at = ${now}
      FROM unnest(${sql.array(
        items.map((l) => l.jobId),
        TEXT,
      )}::text[], ${sql.array(
        items.map((l) => l.lease),
        TEXT,
      )}::text[], ${sql.array(
        items.map((l) => l.workerId),
        TEXT,
      )}::text[]) AS i(id, lease, worker)
      WHERE j.id = i.id AND ${heldBy(sql)}
      RETURNING ${sql(STATE.map((c) => `j.${c}`))}`;
    const byId = new Map(items.map((l) => [l.jobId, l]));
    await appendFeed(
      tx,
      released.map((r) => {
        const l = byId.get(r.id as string)!;
        return change(
          "release",
          "running",
          "queued",
          { ...toJobState(r), attempts: l.attempt, workerId: l.workerId },
          now,
        );
      }),
    );
    return released;
  });
  return outcomes(items, rows);
}
