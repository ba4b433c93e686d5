/**
 * The PostgreSQL backend, for clusters: several server nodes share it. Claims use FOR UPDATE SKIP LOCKED
 * so claimers on different nodes never wait for each other; finishes are batched with unnest arrays (one
 * statement per batch). Times always come from the caller's clock, never now() in SQL, so tests can move
 * time and nodes agree on one clock source per decision.
 */
import type postgres from "postgres";
import type { Attempt, Claim, Job, JobState, NewJob } from "../../core/job.ts";
import { change, type FeedBounds, type FeedEvent } from "../feed.ts";
import type { AuditEntry } from "../identity-store.ts";
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
import { appendFeed, feedBounds, pruneFeed, readFailures, readFeed } from "./feed.ts";
import { completeJobs, failJobs, holdsLease, releaseJobs, STATE } from "./finish.ts";
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

  enqueue(jobs: NewJob[], now: number, audit?: AuditEntry): Promise<EnqueueOutcome[]> {
    return enqueueJobs(this.sql, this.#durable, jobs, now, audit);
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

  complete(items: CompleteInput[], now: number): Promise<FinishOutcome[]> {
    return completeJobs(this.sql, items, now);
  }

  async fail(items: FailInput[], now: number): Promise<FinishOutcome[]> {
    if (items.length === 0) return [];
    return this.sql.begin((tx) => failJobs(this.sql, tx, items, now));
  }

  release(items: LeaseRef[], now: number): Promise<FinishOutcome[]> {
    return releaseJobs(this.sql, items, now);
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
      const outcomes = await failJobs(
        this.sql,
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

  cancel(id: string, now: number, audit?: AuditEntry): Promise<ChangeOutcome> {
    return cancelJob(this.sql, id, now, audit);
  }

  retry(id: string, now: number, audit?: AuditEntry): Promise<ChangeOutcome> {
    return retryJob(this.sql, id, now, audit);
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
