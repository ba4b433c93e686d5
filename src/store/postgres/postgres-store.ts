/**
 * The PostgreSQL backend, for clusters: several server nodes share it. Claims use FOR UPDATE SKIP LOCKED
 * so claimers on different nodes never wait for each other; finishes are batched with unnest arrays (one
 * statement per batch). Times always come from the caller's clock, never now() in SQL, so tests can move
 * time and nodes agree on one clock source per decision.
 */
import type postgres from "postgres";
import { decideAfterFailure } from "../../core/backoff.ts";
import type { Attempt, Backoff, Claim, Job, JobState, NewJob } from "../../core/job.ts";
import { failureEvent } from "../../core/lifecycle.ts";
import { change, type FeedBounds, type FeedEvent } from "../feed.ts";
import type {
  ChangeOutcome,
  ClaimRequest,
  CompleteInput,
  EnqueueOutcome,
  FailInput,
  FinishOutcome,
  JobCounts,
  JobQuery,
  LeaseId,
  LeaseRef,
  LogChunk,
  Store,
  StoredLogChunk,
} from "../store.ts";
import { claimJobs } from "./claim.ts";
import { connect, migrate, type Sql } from "./connection.ts";
import { enqueueJobs } from "./enqueue.ts";
import { appendFeed, feedBounds, feedCte, pruneFeed, readFailures, readFeed } from "./feed.ts";
import {
  appendLogs,
  cancelJob,
  counts,
  listAttempts,
  listJobs,
  logBytes,
  readLogs,
  retryJob,
} from "./job-queries.ts";
import { toJob, toJobState } from "./rows.ts";

export interface PostgresStoreOptions {
  url: string;
  schema?: string;
  poolSize?: number;
}

const STATE = [
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
 * "Still holds this lease", for batches joined to jobs by id. A job is running exactly while it has a
 * lease (every statement that ends an attempt clears lease_expires_at), and saying so with the lease
 * rather than the status leaves no status index (jobs_running, jobs_status_seq) for the planner to pick:
 * with stale statistics it hashed every running job per batch — 50 ms per 500 completions with 20,000
 * running — where the id index costs what the batch holds.
 */
const COMPLETE = { event: "complete", from: "running", to: "completed" } as const;

const holdsLease = (sql: Sql) => sql`j.lease_expires_at IS NOT NULL AND j.lease_token = i.lease`;

export class PostgresStore implements Store {
  readonly features = { shared: true } as const;
  readonly sql: Sql;
  readonly schema: string;
  /**
   * Enqueues only: sessions that commit synchronously, so an accepted job is on disk when we answer, in
   * one autocommit statement (a transaction that switched synchronous_commit on cost three more round
   * trips per enqueue: most of enqueue-to-start latency).
   */
  readonly #durable: Sql;

  constructor(opts: PostgresStoreOptions) {
    this.schema = opts.schema ?? "bosun";
    const max = opts.poolSize ?? 10;
    this.sql = connect({ url: opts.url, schema: this.schema, max, asyncCommit: true });
    this.#durable = connect({ url: opts.url, schema: this.schema, max: Math.max(1, Math.ceil(max / 4)) });
  }

  async migrate(): Promise<void> {
    await migrate(this.sql, this.schema);
  }

  async ping(): Promise<void> {
    await this.sql`SELECT 1`;
  }

  async close(): Promise<void> {
    await Promise.all([this.sql.end({ timeout: 5 }), this.#durable.end({ timeout: 5 })]);
  }

  enqueue(jobs: NewJob[], now: number): Promise<EnqueueOutcome[]> {
    return enqueueJobs(this.sql, this.#durable, jobs, now);
  }

  async promoteDue(now: number): Promise<number> {
    return this.sql.begin(async (tx) => {
      const rows = await tx`UPDATE jobs SET status = 'queued', updated_at = ${now}
        WHERE status = 'scheduled' AND run_at <= ${now} RETURNING ${tx(STATE)}`;
      await appendFeed(
        tx,
        rows.map((r) => change("promote", "scheduled", "queued", toJobState(r), now)),
      );
      return rows.length;
    });
  }

  async nextRunAt(): Promise<number | null> {
    const [r] = await this.sql`SELECT MIN(run_at) AS run_at FROM jobs WHERE status = 'scheduled'`;
    return r?.run_at == null ? null : Number(r.run_at);
  }

  claim(req: ClaimRequest): Promise<Claim[]> {
    return claimJobs(this.sql, req);
  }

  async complete(items: CompleteInput[], now: number): Promise<FinishOutcome[]> {
    if (items.length === 0) return [];
    const sql = this.sql;
    // One statement, one round trip: the change, its attempt record and its feed row.
    const rows = await sql`WITH input AS (
        SELECT * FROM unnest(${sql.array(
          items.map((c) => c.jobId),
          25,
        )}::text[], ${sql.array(
          items.map((c) => c.attempt),
          23,
        )}::int[],
          ${sql.array(
            items.map((c) => c.workerId),
            25,
          )}::text[], ${sql.array(
            items.map((c) => JSON.stringify(c.result ?? null)),
            25,
          )}::text[],
          ${sql.array(
            items.map((c) => c.exitCode ?? null),
            23,
          )}::int[], ${sql.array(
            items.map((c) => c.httpStatus ?? null),
            23,
          )}::int[], ${sql.array(
            items.map((c) => c.lease),
            25,
          )}::text[])
          AS t(id, attempt, worker_id, result, exit_code, http_status, lease)),
      done AS (
        UPDATE jobs j SET status = 'completed', result = i.result::jsonb, finished_at = ${now}, updated_at = ${now},
          lease_expires_at = NULL, error = NULL
        FROM input i
        WHERE j.id = i.id AND ${holdsLease(sql)}
        RETURNING j.*, i.exit_code AS in_exit_code, i.http_status AS in_http_status),
      attempts AS (
        INSERT INTO job_attempts (job_id, attempt, status, started_at, finished_at, worker_id, exit_code, http_status)
        SELECT id, attempts, 'completed', COALESCE(started_at, ${now}), ${now}, worker_id, in_exit_code, in_http_status FROM done
        ON CONFLICT (job_id, attempt) DO NOTHING),
      ${feedCte(sql, "done", COMPLETE, now)}
      SELECT ${sql(STATE)} FROM done`;
    const byId = new Map(rows.map((r) => [r.id as string, toJobState(r)]));
    return items.map((c) => {
      const job = byId.get(c.jobId);
      byId.delete(c.jobId); // once per row: the same lease twice in a batch applies once
      return job ? { ok: true, job } : { ok: false, jobId: c.jobId };
    });
  }

  async fail(items: FailInput[], now: number): Promise<FinishOutcome[]> {
    if (items.length === 0) return [];
    return this.sql.begin((tx) => this.#fail(tx, items, now));
  }

  /**
   * Fails attempts inside a transaction: lock the current leases, decide in JS (backoff), write in one
   * go, and append the changes to the feed, the transaction's last statement.
   */
  async #fail(tx: postgres.TransactionSql, items: FailInput[], now: number): Promise<FinishOutcome[]> {
    const sql = this.sql;
    const current = await tx`SELECT j.id, j.attempts, j.max_attempts, j.backoff, j.started_at, j.worker_id
      FROM jobs j JOIN unnest(${sql.array(
        items.map((f) => f.jobId),
        25,
      )}::text[], ${sql.array(
        items.map((f) => f.attempt),
        23,
      )}::int[],
        ${sql.array(
          items.map((f) => f.workerId),
          25,
        )}::text[], ${sql.array(
          items.map((f) => f.lease),
          25,
        )}::text[]) AS i(id, attempt, worker_id, lease)
        ON j.id = i.id AND ${holdsLease(sql)}
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
          25,
        )}::text[], ${sql.array(
          col((_f, i) => decisions[i]!.status),
          25,
        )}::text[],
          ${sql.array(
            col((_f, i) => decisions[i]!.runAt),
            20,
          )}::bigint[], ${sql.array(
            col((f) => JSON.stringify(f.error)),
            25,
          )}::text[],
          ${sql.array(
            col((f) => f.attempt),
            23,
          )}::int[], ${sql.array(
            col((f) => f.exitCode ?? null),
            23,
          )}::int[],
          ${sql.array(
            col((f) => f.httpStatus ?? null),
            23,
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
    const byId = new Map(rows.map((r) => [r.id as string, toJobState(r)]));
    return items.map((f) => {
      const job = byId.get(f.jobId);
      byId.delete(f.jobId); // once per row: the same lease twice in a batch applies once
      return job ? { ok: true, job } : { ok: false, jobId: f.jobId };
    });
  }

  async release(items: LeaseRef[], now: number): Promise<FinishOutcome[]> {
    if (items.length === 0) return [];
    const sql = this.sql;
    const rows = await sql.begin(async (tx) => {
      const released =
        await tx`UPDATE jobs j SET status = 'queued', attempts = j.attempts - 1, worker_id = NULL,
        started_at = NULL, lease_expires_at = NULL, run_at = ${now}, updated_at = ${now}
      FROM unnest(${sql.array(
        items.map((l) => l.jobId),
        25,
      )}::text[], ${sql.array(
        items.map((l) => l.attempt),
        23,
      )}::int[],
        ${sql.array(
          items.map((l) => l.workerId),
          25,
        )}::text[], ${sql.array(
          items.map((l) => l.lease),
          25,
        )}::text[]) AS i(id, attempt, worker_id, lease)
      WHERE j.id = i.id AND ${holdsLease(sql)}
      RETURNING ${sql(STATE.map((c) => `j.${c}`))}, i.attempt AS in_attempt, i.worker_id AS in_worker_id`;
      await appendFeed(
        tx,
        released.map((r) =>
          change(
            "release",
            "running",
            "queued",
            { ...toJobState(r), attempts: Number(r.in_attempt), workerId: r.in_worker_id as string },
            now,
          ),
        ),
      );
      return released;
    });
    const byId = new Map(rows.map((r) => [r.id as string, toJobState(r)]));
    return items.map((l) => {
      const job = byId.get(l.jobId);
      byId.delete(l.jobId); // once per row: the same lease twice in a batch applies once
      return job ? { ok: true, job } : { ok: false, jobId: l.jobId };
    });
  }

  async heartbeat(workerId: string, leases: LeaseId[], leaseUntil: number, now: number): Promise<string[]> {
    if (leases.length === 0) return [];
    const sql = this.sql;
    const rows = await sql`UPDATE jobs j SET lease_expires_at = ${leaseUntil}, updated_at = ${now}
      FROM unnest(${sql.array(
        leases.map((l) => l.jobId),
        25,
      )}::text[], ${sql.array(
        leases.map((l) => l.lease),
        25,
      )}::text[]) AS i(id, lease)
      WHERE j.id = i.id AND ${holdsLease(sql)} AND j.worker_id = ${workerId}
      RETURNING j.id`;
    const held = new Set(rows.map((r) => r.id as string));
    return leases.filter((l) => !held.has(l.jobId)).map((l) => l.jobId);
  }

  async reapExpired(now: number, limit: number): Promise<JobState[]> {
    return this.#reap(
      this.sql`status = 'running' AND lease_expires_at < ${now}`,
      limit,
      "LEASE_EXPIRED",
      "The worker stopped renewing its lease",
      now,
    );
  }

  async reapWorkers(workerIds: string[], code: string, now: number): Promise<JobState[]> {
    if (workerIds.length === 0) return [];
    const where = this.sql`status = 'running' AND worker_id = ANY(${this.sql.array(workerIds, 25)}::text[])`;
    return this.#reap(where, 10_000, code, "The worker that ran the attempt is gone", now);
  }

  async #reap(
    where: postgres.PendingQuery<postgres.Row[]>,
    limit: number,
    code: string,
    message: string,
    now: number,
  ) {
    return this.sql.begin(async (tx) => {
      const rows =
        await tx`SELECT id, attempts, worker_id, lease_token FROM jobs WHERE ${where} LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
      if (rows.length === 0) return [];
      const outcomes = await this.#fail(
        tx,
        rows.map((r) => ({
          jobId: r.id as string,
          lease: r.lease_token as string,
          attempt: Number(r.attempts),
          workerId: r.worker_id as string,
          error: { code, message },
          retryable: true,
        })),
        now,
      );
      return outcomes.flatMap((o) => (o.ok ? [o.job] : []));
    });
  }

  async setProgress(items: (LeaseId & { progress: number })[], now: number): Promise<void> {
    if (items.length === 0) return;
    const sql = this.sql;
    await sql`UPDATE jobs j SET progress = i.progress, updated_at = ${now}
      FROM unnest(${sql.array(
        items.map((p) => p.jobId),
        25,
      )}::text[], ${sql.array(
        items.map((p) => p.lease),
        25,
      )}::text[],
        ${sql.array(
          items.map((p) => p.progress),
          700,
        )}::real[]) AS i(id, lease, progress)
      WHERE j.id = i.id AND ${holdsLease(sql)}`;
  }

  cancel(id: string, now: number): Promise<ChangeOutcome> {
    return cancelJob(this.sql, id, now);
  }

  retry(id: string, now: number): Promise<ChangeOutcome> {
    return retryJob(this.sql, id, now);
  }

  async getJob(id: string): Promise<Job | null> {
    const [row] = await this.sql`SELECT * FROM jobs WHERE id = ${id}`;
    return row ? toJob(row) : null;
  }

  async getJobs(ids: string[]): Promise<Job[]> {
    if (ids.length === 0) return [];
    return (await this.sql`SELECT * FROM jobs WHERE id = ANY(${this.sql.array(ids, 25)}::text[])`).map(toJob);
  }

  listJobs(q: JobQuery): Promise<Job[]> {
    return listJobs(this.sql, q);
  }

  listAttempts(jobId: string): Promise<Attempt[]> {
    return listAttempts(this.sql, jobId);
  }

  counts(): Promise<JobCounts> {
    return counts(this.sql);
  }

  appendLogs(chunks: LogChunk[]): Promise<void> {
    return appendLogs(this.sql, chunks);
  }

  logBytes(jobIds: string[]): Promise<Map<string, number>> {
    return logBytes(this.sql, jobIds);
  }

  readLogs(jobId: string, afterSeq: number, limit: number): Promise<StoredLogChunk[]> {
    return readLogs(this.sql, jobId, afterSeq, limit);
  }

  readFeed(afterSeq: number, limit: number): Promise<FeedEvent[]> {
    return readFeed(this.sql, afterSeq, limit);
  }

  readFailures(afterSeq: number, upTo: number, limit: number): Promise<FeedEvent[]> {
    return readFailures(this.sql, afterSeq, upTo, limit);
  }

  feedBounds(): Promise<FeedBounds> {
    return feedBounds(this.sql);
  }

  pruneFeed(before: number, limit: number): Promise<number> {
    return pruneFeed(this.sql, before, limit);
  }
}
