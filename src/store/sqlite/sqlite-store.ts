/**
 * The embedded backend: one SQLite file, one writer (this process), every batch in one transaction.
 * Statements are prepared once. Status literals are inlined in SQL so the partial indexes apply, and the
 * hot statements name their index (INDEXED BY): without statistics the planner preferred
 * jobs_status_seq plus a sort of every queued job, which made a claim O(queued) — 5k jobs/s instead of
 * tens of thousands.
 */
import type { DatabaseSync } from "node:sqlite";
import { decideAfterFailure } from "../../core/backoff.ts";
import type { Attempt, Backoff, Claim, Job, JobError, JobState, NewJob } from "../../core/job.ts";
import { type PlaceableJob, placeJobs } from "../../core/placement.ts";
import type {
  ChangeOutcome,
  ClaimRequest,
  CompleteInput,
  EnqueueOutcome,
  FailInput,
  FinishOutcome,
  JobCounts,
  JobQuery,
  LeaseRef,
  LogChunk,
  Store,
  StoredLogChunk,
} from "../store.ts";
import { BACKSTOP_WAL_PAGES, Checkpointer } from "./checkpointer.ts";
import { migrate, openDatabase, transaction } from "./database.ts";
import { counts, listJobs, readLogs } from "./job-queries.ts";
import { jsonOrNull, toAttempt, toJob, toJobState } from "./rows.ts";
import { prepare } from "./statements.ts";

export interface SqliteStoreOptions {
  file: string;
  durability?: "normal" | "strict";
  /** Checkpoint the WAL on a thread of its own (default); off, SQLite's autocheckpoint does it inline. */
  checkpointThread?: boolean;
}

/** Extra candidates read per claim so that jobs whose constraints fit nobody do not block the rest. */
const CLAIM_LOOKAHEAD = 64;

export class SqliteStore implements Store {
  readonly features = { shared: false } as const;
  readonly #db: DatabaseSync;
  readonly #s: ReturnType<typeof prepare>;
  readonly #checkpointer: Checkpointer | null = null;

  constructor(opts: SqliteStoreOptions) {
    const durability = opts.durability ?? "normal";
    this.#db = openDatabase({ file: opts.file, durability });
    migrate(this.#db);
    this.#s = prepare(this.#db);
    if (opts.file !== ":memory:" && opts.checkpointThread !== false) {
      this.#db.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_WAL_PAGES}`);
      this.#checkpointer = new Checkpointer({
        file: opts.file,
        synchronous: durability === "strict" ? "FULL" : "NORMAL",
      });
    }
  }

  /** The connection, for the other SQLite-backed stores of this node (schedules, cluster state). */
  get db(): DatabaseSync {
    return this.#db;
  }

  /** Migrations run in the constructor (the file is ours alone); kept for the Store contract. */
  async migrate(): Promise<void> {
    migrate(this.#db);
  }

  async ping(): Promise<void> {
    this.#db.prepare("SELECT 1").get();
  }

  async close(): Promise<void> {
    await this.#checkpointer?.stop();
    if (this.#db.isOpen) {
      this.#db.exec("PRAGMA optimize");
      this.#db.close();
    }
  }

  async enqueue(jobs: NewJob[], now: number): Promise<EnqueueOutcome[]> {
    return transaction(this.#db, () =>
      jobs.map((j) => {
        const status = j.runAt > now ? "scheduled" : "queued";
        const row = this.#s.insertJob.get(
          j.id,
          j.queue,
          j.type,
          JSON.stringify(j.payload ?? null),
          status,
          j.priority,
          j.maxAttempts,
          j.maxAttempts,
          JSON.stringify(j.backoff),
          j.timeoutMs,
          j.runAt,
          now,
          now,
          j.idempotencyKey,
          j.owner,
          jsonOrNull(j.tags),
          jsonOrNull(j.constraints),
          j.scheduleId,
          j.scheduledTime,
        );
        if (row) return { job: toJob(row), created: true };
        const existing =
          (j.idempotencyKey !== null ? this.#s.byIdempotencyKey.get(j.idempotencyKey) : undefined) ??
          (j.scheduleId !== null ? this.#s.byFire.get(j.scheduleId, j.scheduledTime) : undefined);
        if (!existing) throw new Error(`enqueue conflict without an existing row for job ${j.id}`);
        return { job: toJob(existing), created: false };
      }),
    );
  }

  async promoteDue(now: number): Promise<number> {
    return Number(this.#s.promote.run(now, now).changes);
  }

  async nextRunAt(): Promise<number | null> {
    const row = this.#s.nextRunAt.get();
    return row?.run_at == null ? null : Number(row.run_at);
  }

  async claim(req: ClaimRequest): Promise<Claim[]> {
    const total = req.workers.reduce((n, w) => n + w.slots, 0);
    if (total === 0) return [];
    const anyQueue = req.workers.some((w) => w.queues === null);
    const anyType = req.workers.some((w) => w.types === null);
    const queues = anyQueue ? null : JSON.stringify([...new Set(req.workers.flatMap((w) => w.queues ?? []))]);
    const types = anyType ? null : JSON.stringify([...new Set(req.workers.flatMap((w) => w.types ?? []))]);
    return transaction(this.#db, () => {
      const rows = this.#s.candidates.all(queues, queues, types, types, total + CLAIM_LOOKAHEAD);
      const seqOf = new Map<string, number>();
      const candidates: PlaceableJob[] = rows.map((r) => {
        seqOf.set(r.id as string, Number(r.seq));
        return {
          id: r.id as string,
          queue: r.queue as string,
          type: r.type as string,
          constraints: r.constraints == null ? {} : JSON.parse(r.constraints as string),
        };
      });
      const byWorker = new Map<string, number[]>();
      for (const [id, workerId] of placeJobs(candidates, req.workers)) {
        const list = byWorker.get(workerId);
        if (list) list.push(seqOf.get(id)!);
        else byWorker.set(workerId, [seqOf.get(id)!]);
      }
      const leaseUntil = req.now + req.leaseMs;
      const claims: Claim[] = [];
      // One set-based UPDATE per worker: a third cheaper per job than one statement per row.
      for (const [workerId, seqs] of byWorker) {
        for (const r of this.#s.claimMany.all(workerId, req.now, leaseUntil, req.now, JSON.stringify(seqs))) {
          claims.push({
            id: r.id as string,
            attempt: Number(r.attempts),
            workerId,
            queue: r.queue as string,
            type: r.type as string,
            payload: JSON.parse(r.payload as string),
            timeoutMs: r.timeout_ms == null ? null : Number(r.timeout_ms),
            maxAttempts: Number(r.max_attempts),
            leaseExpiresAt: leaseUntil,
            scheduledTime: r.scheduled_time == null ? null : Number(r.scheduled_time),
          });
        }
      }
      return claims;
    });
  }

  /**
   * Two set-based statements per batch (the batch travels as one JSON array): the UPDATE of the leases
   * still held, then the attempt records of exactly those rows. Measured ~2x faster than a statement per
   * row on the no-op benchmark.
   */
  async complete(items: CompleteInput[], now: number): Promise<FinishOutcome[]> {
    if (items.length === 0) return [];
    const batch = JSON.stringify(
      items.map((c) => [
        c.jobId,
        c.attempt,
        c.workerId,
        c.result === undefined ? null : c.result,
        c.exitCode ?? null,
        c.httpStatus ?? null,
      ]),
    );
    const rows = transaction(this.#db, () => {
      const done = this.#s.completeMany.all(now, now, batch);
      if (done.length > 0) this.#s.completedAttempts.run(now, batch, now);
      return done;
    });
    const byId = new Map(rows.map((r) => [r.id as string, toJobState(r)]));
    return items.map((c) => {
      const job = byId.get(c.jobId);
      return job ? { ok: true, job } : { ok: false, jobId: c.jobId };
    });
  }

  async fail(items: FailInput[], now: number): Promise<FinishOutcome[]> {
    return transaction(this.#db, () => items.map((f) => this.#failOne(f, now)));
  }

  #failOne(f: FailInput, now: number): FinishOutcome {
    const cur = this.#s.leaseRow.get(f.jobId, f.attempt, f.workerId);
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
    const row = this.#s.failOne.get(
      decision.status,
      decision.runAt,
      JSON.stringify(f.error),
      decision.status === "failed" ? now : null,
      now,
      f.jobId,
    );
    const job = toJobState(row!);
    this.#insertAttempt(
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

  #insertAttempt(
    job: JobState,
    attempt: number,
    status: Attempt["status"],
    now: number,
    exitCode: number | null,
    httpStatus: number | null,
    error: JobError | null,
  ): void {
    this.#s.insertAttempt.run(
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

  async release(items: LeaseRef[], now: number): Promise<FinishOutcome[]> {
    return transaction(this.#db, () =>
      items.map((l): FinishOutcome => {
        const row = this.#s.releaseOne.get(now, now, l.jobId, l.attempt, l.workerId);
        return row ? { ok: true, job: toJobState(row) } : { ok: false, jobId: l.jobId };
      }),
    );
  }

  async heartbeat(workerId: string, jobIds: string[], leaseUntil: number, now: number): Promise<string[]> {
    return transaction(this.#db, () => {
      this.#s.renewLeases.run(leaseUntil, now, workerId);
      if (jobIds.length === 0) return [];
      const held = new Set(this.#s.heldBy.all(workerId).map((r) => r.id as string));
      return jobIds.filter((id) => !held.has(id));
    });
  }

  async reapExpired(now: number, limit: number): Promise<JobState[]> {
    return transaction(this.#db, () => {
      const rows = this.#s.expired.all(now, limit);
      return this.#reapRows(rows, "LEASE_EXPIRED", "The worker stopped renewing its lease", now);
    });
  }

  async reapWorkers(workerIds: string[], code: string, now: number): Promise<JobState[]> {
    if (workerIds.length === 0) return [];
    return transaction(this.#db, () => {
      const rows = this.#s.runningOfWorkers.all(JSON.stringify(workerIds));
      return this.#reapRows(rows, code, "The worker that ran the attempt is gone", now);
    });
  }

  #reapRows(rows: Record<string, unknown>[], code: string, message: string, now: number): JobState[] {
    const out: JobState[] = [];
    for (const r of rows) {
      const outcome = this.#failOne(
        {
          jobId: r.id as string,
          attempt: Number(r.attempts),
          workerId: r.worker_id as string,
          error: { code, message },
          retryable: true,
        },
        now,
      );
      if (outcome.ok) out.push(outcome.job);
    }
    return out;
  }

  async setProgress(
    items: { jobId: string; attempt: number; progress: number }[],
    now: number,
  ): Promise<void> {
    transaction(this.#db, () => {
      for (const p of items) this.#s.setProgress.run(p.progress, now, p.jobId, p.attempt);
    });
  }

  async cancel(id: string, now: number): Promise<ChangeOutcome> {
    return transaction(this.#db, () => {
      const row = this.#s.byId.get(id);
      if (!row) return { ok: false, reason: "not_found" };
      const job = toJob(row);
      if (job.status === "completed" || job.status === "failed" || job.status === "cancelled")
        return { ok: false, reason: "invalid_state", job };
      const error: JobError = { code: "CANCELLED", message: "The job was cancelled" };
      const updated = this.#s.cancelOne.get(JSON.stringify(error), now, now, id);
      if (job.status === "running")
        this.#insertAttempt(toJobState(row), job.attempts, "cancelled", now, null, null, error);
      return { ok: true, job: toJob(updated!) };
    });
  }

  async retry(id: string, now: number): Promise<ChangeOutcome> {
    return transaction(this.#db, () => {
      const row = this.#s.byId.get(id);
      if (!row) return { ok: false, reason: "not_found" };
      if (row.status !== "failed" && row.status !== "cancelled")
        return { ok: false, reason: "invalid_state", job: toJob(row) };
      const updated = this.#s.retryOne.get(now, now, id);
      return { ok: true, job: toJob(updated!) };
    });
  }

  async getJob(id: string): Promise<Job | null> {
    const row = this.#s.byId.get(id);
    return row ? toJob(row) : null;
  }

  async getJobs(ids: string[]): Promise<Job[]> {
    if (ids.length === 0) return [];
    return this.#s.byIds.all(JSON.stringify(ids)).map(toJob);
  }

  async listJobs(q: JobQuery): Promise<Job[]> {
    return listJobs(this.#db, q);
  }

  async listAttempts(jobId: string): Promise<Attempt[]> {
    return this.#s.attempts.all(jobId).map(toAttempt);
  }

  async counts(): Promise<JobCounts> {
    return counts(this.#s);
  }

  async appendLogs(chunks: LogChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    transaction(this.#db, () => {
      for (const c of chunks) this.#s.appendLog.run(c.jobId, c.jobId, c.at, c.stream, c.data);
    });
  }

  async readLogs(jobId: string, afterSeq: number, limit: number): Promise<StoredLogChunk[]> {
    return readLogs(this.#s, jobId, afterSeq, limit);
  }
}
