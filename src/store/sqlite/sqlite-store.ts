/**
 * The embedded backend: one SQLite file, one writer (this process), every batch in one transaction.
 * Statements are prepared once. Status literals are inlined in SQL so the partial indexes apply, and the
 * hot statements name their index (INDEXED BY): without statistics the planner preferred
 * jobs_status_seq plus a sort of every queued job, which made a claim O(queued) — 5k jobs/s instead of
 * tens of thousands.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
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
import { migrate, openDatabase, transaction } from "./database.ts";
import { JOB_STATE_COLUMNS, jsonOrNull, toAttempt, toJob, toJobState } from "./rows.ts";

export interface SqliteStoreOptions {
  file: string;
  durability?: "normal" | "strict";
}

/** Extra candidates read per claim so that jobs whose constraints fit nobody do not block the rest. */
const CLAIM_LOOKAHEAD = 64;

export class SqliteStore implements Store {
  readonly features = { shared: false } as const;
  readonly #db: DatabaseSync;
  readonly #s: ReturnType<typeof prepare>;

  constructor(opts: SqliteStoreOptions) {
    this.#db = openDatabase({ file: opts.file, durability: opts.durability ?? "normal" });
    migrate(this.#db);
    this.#s = prepare(this.#db);
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
    return this.#db
      .prepare(sql)
      .all(...params)
      .map(toJob);
  }

  async listAttempts(jobId: string): Promise<Attempt[]> {
    return this.#s.attempts.all(jobId).map(toAttempt);
  }

  async counts(): Promise<JobCounts> {
    const out: JobCounts = { byStatus: {}, byQueue: {} };
    for (const r of this.#s.counts.all()) {
      const status = r.status as keyof JobCounts["byStatus"];
      const n = Number(r.n);
      out.byStatus[status] = (out.byStatus[status] ?? 0) + n;
      const queue = r.queue as string;
      out.byQueue[queue] = { ...out.byQueue[queue], [status]: n };
    }
    return out;
  }

  async appendLogs(chunks: LogChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    transaction(this.#db, () => {
      for (const c of chunks) this.#s.appendLog.run(c.jobId, c.jobId, c.at, c.stream, c.data);
    });
  }

  async readLogs(jobId: string, afterSeq: number, limit: number): Promise<StoredLogChunk[]> {
    return this.#s.readLogs.all(jobId, afterSeq, limit).map((r) => ({
      jobId,
      seq: Number(r.seq),
      at: Number(r.at),
      stream: r.stream as StoredLogChunk["stream"],
      data: r.data as string,
    }));
  }
}

function prepare(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    insertJob:
      p(`INSERT INTO jobs (id, queue, type, payload, status, priority, max_attempts, attempt_budget, backoff,
        timeout_ms, run_at, created_at, updated_at, idempotency_key, owner, tags, constraints, schedule_id, scheduled_time)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO NOTHING RETURNING *`),
    byIdempotencyKey: p("SELECT * FROM jobs WHERE idempotency_key = ?"),
    byFire: p("SELECT * FROM jobs WHERE schedule_id = ? AND scheduled_time = ?"),
    byId: p("SELECT * FROM jobs WHERE id = ?"),
    byIds: p("SELECT * FROM jobs WHERE id IN (SELECT value FROM json_each(?))"),
    promote: p(
      "UPDATE jobs INDEXED BY jobs_due SET status = 'queued', updated_at = ? WHERE status = 'scheduled' AND run_at <= ?",
    ),
    nextRunAt: p("SELECT MIN(run_at) AS run_at FROM jobs INDEXED BY jobs_due WHERE status = 'scheduled'"),
    candidates: p(`SELECT seq, id, queue, type, constraints FROM jobs INDEXED BY jobs_ready
      WHERE status = 'queued'
        AND (? IS NULL OR queue IN (SELECT value FROM json_each(?)))
        AND (? IS NULL OR type IN (SELECT value FROM json_each(?)))
      ORDER BY priority DESC, seq LIMIT ?`),
    claimMany: p(`UPDATE jobs SET status = 'running', attempts = attempts + 1, worker_id = ?, started_at = ?,
        lease_expires_at = ?, updated_at = ?, progress = NULL
      WHERE seq IN (SELECT value FROM json_each(?)) AND status = 'queued'
      RETURNING id, attempts, queue, type, payload, timeout_ms, max_attempts, scheduled_time`),
    // Each batch item is [jobId, attempt, workerId, result, exitCode, httpStatus].
    // sqlite_autoindex_jobs_1 is the index of `id UNIQUE`: without the hint the planner scans by status.
    completeMany:
      p(`UPDATE jobs INDEXED BY sqlite_autoindex_jobs_1 SET status = 'completed', result = c.result, finished_at = ?, updated_at = ?,
        lease_expires_at = NULL, error = NULL
      FROM (SELECT value ->> 0 AS id, value ->> 1 AS attempt, value ->> 2 AS worker, value -> 3 AS result
            FROM json_each(?)) AS c
      WHERE jobs.id = c.id AND jobs.status = 'running' AND jobs.attempts = c.attempt AND jobs.worker_id = c.worker
      RETURNING ${JOB_STATE_COLUMNS}`),
    completedAttempts: p(`INSERT OR IGNORE INTO job_attempts
        (job_id, attempt, status, started_at, finished_at, worker_id, exit_code, http_status)
      SELECT j.id, j.attempts, 'completed', COALESCE(j.started_at, ?), j.finished_at, j.worker_id,
        c.value ->> 4, c.value ->> 5
      FROM json_each(?) AS c JOIN jobs j INDEXED BY sqlite_autoindex_jobs_1 ON j.id = c.value ->> 0
      WHERE j.status = 'completed' AND j.finished_at = ? AND j.attempts = c.value ->> 1 AND j.worker_id = c.value ->> 2`),
    leaseRow: p(`SELECT attempts, max_attempts, backoff, started_at FROM jobs
      WHERE id = ? AND status = 'running' AND attempts = ? AND worker_id = ?`),
    failOne: p(`UPDATE jobs SET status = ?, run_at = ?, error = ?, finished_at = ?, updated_at = ?,
        lease_expires_at = NULL
      WHERE id = ? RETURNING ${JOB_STATE_COLUMNS}`),
    insertAttempt: p(`INSERT OR REPLACE INTO job_attempts
      (job_id, attempt, status, started_at, finished_at, worker_id, exit_code, http_status, error)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    releaseOne:
      p(`UPDATE jobs SET status = 'queued', attempts = attempts - 1, worker_id = NULL, started_at = NULL,
        lease_expires_at = NULL, run_at = ?, updated_at = ?
      WHERE id = ? AND status = 'running' AND attempts = ? AND worker_id = ?
      RETURNING ${JOB_STATE_COLUMNS}`),
    renewLeases: p(
      "UPDATE jobs INDEXED BY jobs_worker SET lease_expires_at = ?, updated_at = ? WHERE worker_id = ? AND status = 'running'",
    ),
    heldBy: p("SELECT id FROM jobs INDEXED BY jobs_worker WHERE worker_id = ? AND status = 'running'"),
    expired: p(
      "SELECT id, attempts, worker_id FROM jobs INDEXED BY jobs_lease WHERE status = 'running' AND lease_expires_at < ? LIMIT ?",
    ),
    runningOfWorkers: p(`SELECT id, attempts, worker_id FROM jobs INDEXED BY jobs_worker
      WHERE status = 'running' AND worker_id IN (SELECT value FROM json_each(?))`),
    setProgress: p(
      "UPDATE jobs SET progress = ?, updated_at = ? WHERE id = ? AND attempts = ? AND status = 'running'",
    ),
    cancelOne: p(`UPDATE jobs SET status = 'cancelled', error = ?, finished_at = ?, updated_at = ?,
        lease_expires_at = NULL WHERE id = ? RETURNING *`),
    retryOne:
      p(`UPDATE jobs SET status = 'queued', run_at = ?, updated_at = ?, finished_at = NULL, error = NULL,
        result = NULL, worker_id = NULL, max_attempts = attempts + attempt_budget
      WHERE id = ? RETURNING *`),
    attempts: p("SELECT * FROM job_attempts WHERE job_id = ? ORDER BY attempt"),
    counts: p("SELECT queue, status, COUNT(*) AS n FROM jobs GROUP BY queue, status"),
    appendLog: p(`INSERT INTO job_logs (job_id, seq, at, stream, data)
      VALUES (?, COALESCE((SELECT MAX(seq) FROM job_logs WHERE job_id = ?), 0) + 1, ?, ?, ?)`),
    readLogs: p(
      "SELECT seq, at, stream, data FROM job_logs WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
    ),
  };
}
