/**
 * The embedded backend: one SQLite file, one writer (this store: store-lock.ts makes the operating
 * system refuse a second), every batch in one transaction.
 * Statements are prepared once. Status literals are inlined in SQL so the partial indexes apply, and the
 * hot statements name their index (INDEXED BY): without statistics the planner preferred
 * jobs_status_seq plus a sort of every queued job, which made a claim O(queued) — 5k jobs/s instead of
 * tens of thousands. Claims are held in memory before they are written (soft-claims.ts); reads go
 * through the `jobs` view (jobs-view.ts), which shows them as running, so callers see the same contract
 * as on PostgreSQL and no read here knows about them.
 */
import type { DatabaseSync } from "node:sqlite";
import type { Attempt, Claim, Job, JobState, NewJob } from "../../core/job.ts";
import { change, type FeedBounds, type FeedEvent, type NewFeedEvent } from "../feed.ts";
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
import { type AuditWriter, auditCreated, auditWriter } from "./audit-log.ts";
import { BACKSTOP_WAL_PAGES, Checkpointer } from "./checkpointer.ts";
import { claimJobs } from "./claim.ts";
import { completeJobs } from "./complete.ts";
import { migrate, openDatabase, transaction } from "./database.ts";
import { enqueueJobs } from "./enqueue.ts";
import { failLease, reapRows } from "./fail.ts";
import { type FeedStatements, prepareFeed } from "./feed.ts";
import { Holding } from "./holding.ts";
import { cancelJob, retryJob } from "./job-changes.ts";
import { counts, listAttempts, listJobs, logBytes, readLogs } from "./job-queries.ts";
import { createJobsView } from "./jobs-view.ts";
import { toJob, toJobState } from "./rows.ts";
import { SoftClaims } from "./soft-claims.ts";
import { prepare, type Statements } from "./statements.ts";
import { markClosed, markOpen, StoreLock } from "./store-lock.ts";

/** How far back the feed is read for held claims a crash cut short (they are written within a second). */
const RECOVERY_WINDOW_MS = 10_000;

export interface SqliteStoreOptions {
  file: string;
  durability?: "normal" | "strict";
  /** Checkpoint the WAL on a thread of its own (default); off, SQLite's autocheckpoint does it inline. */
  checkpointThread?: boolean;
  /** How long a claim is held in memory before it is written (soft-claims.ts); 0 writes every claim. */
  softClaimMs?: number;
}

export class SqliteStore implements Store {
  readonly features = { shared: false } as const;
  readonly #db: DatabaseSync;
  readonly #s: Statements;
  readonly #checkpointer: Checkpointer | null = null;
  /** Held from open to close: this store is the file's only writer (store-lock.ts). */
  readonly #lock: StoreLock | null;
  readonly #holding: Holding;
  readonly #held = new SoftClaims();
  readonly #feed: FeedStatements;
  readonly #audit: AuditWriter;
  /** The last process that had this file open did not close it (it crashed or was killed). */
  readonly recoveredFromCrash: boolean;

  constructor(opts: SqliteStoreOptions) {
    const durability = opts.durability ?? "normal";
    // The lock comes first: nothing (not even migrations) touches a file another store has open.
    this.#lock = opts.file === ":memory:" ? null : StoreLock.acquire(opts.file);
    let db: DatabaseSync | null = null;
    try {
      db = openDatabase({ file: opts.file, durability });
      migrate(db);
      createJobsView(db, this.#held);
      this.#s = prepare(db);
      this.recoveredFromCrash = this.#lock !== null && markOpen(this.#s);
      if (this.#lock && opts.checkpointThread !== false) {
        db.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_WAL_PAGES}`);
        this.#checkpointer = new Checkpointer({
          file: opts.file,
          synchronous: durability === "strict" ? "FULL" : "NORMAL",
        });
      }
    } catch (err) {
      if (db?.isOpen) db.close();
      this.#lock?.release();
      throw err;
    }
    this.#db = db;
    this.#feed = prepareFeed(db);
    this.#audit = auditWriter(db);
    this.#holding = new Holding(this.#db, this.#s, this.#feed, {
      held: this.#held,
      softClaimMs: opts.softClaimMs,
      afterCrash: this.recoveredFromCrash,
    });
    this.#recoverClaims(Date.now());
  }

  /**
   * A claim held in memory (holding.ts) is in the feed but not in the jobs table: a crash leaves its job
   * `queued` at the previous attempt, though its run may have started. Such claims (their job's last
   * change in the feed is the claim) are written as leases that have already run out, so the reaper ends
   * each as the attempt it was: it counts toward maxAttempts and shows in the job's attempts. Held claims
   * are written within a second, so the last few seconds of the feed hold every one of them.
   */
  #recoverClaims(now: number): void {
    const last = new Map<string, FeedEvent>();
    for (const e of this.#feed.recentSince(RECOVERY_WINDOW_MS)) last.set(e.jobId, e);
    transaction(this.#db, () => {
      for (const e of last.values())
        if (e.event === "claim")
          this.#s.recoverClaim.run(e.attempt, e.workerId, e.at, e.at, now, e.jobId, e.attempt - 1);
    });
  }

  /** Appends this transaction's changes to the feed; callers run it last, inside the transaction. */
  #append(feed: NewFeedEvent[]): void {
    this.#feed.append(feed);
  }

  /**
   * The connection, for the other SQLite-backed stores of this node (schedules, cluster state): their
   * reads of `jobs` go through the same view, so they see held claims as running too.
   */
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
    if (this.#db.isOpen) this.#holding.close(Date.now());
    await this.#checkpointer?.stop();
    if (this.#db.isOpen) {
      if (this.#lock) markClosed(this.#s);
      this.#db.exec("PRAGMA optimize");
      this.#db.close();
    }
    // Last: the next holder must find the file closed.
    this.#lock?.release();
  }

  async enqueue(jobs: NewJob[], now: number, audit?: AuditEntry): Promise<EnqueueOutcome[]> {
    return transaction(this.#db, () => {
      const feed: NewFeedEvent[] = [];
      const out = enqueueJobs(this.#s, this.#held, jobs, now, feed);
      if (audit) auditCreated(this.#audit, audit, out);
      this.#append(feed);
      return out;
    });
  }

  async promoteDue(now: number): Promise<number> {
    const promoted = transaction(this.#db, () => {
      const rows = this.#s.promote.all(now, now).map(toJobState);
      this.#append(rows.map((j) => change("promote", "scheduled", "queued", j, now)));
      return rows.length;
    });
    if (promoted > 0) this.#held.floor.reset();
    return promoted;
  }

  async nextRunAt(): Promise<number | null> {
    const row = this.#s.nextRunAt.get();
    return row?.run_at == null ? null : Number(row.run_at);
  }

  async claim(req: ClaimRequest): Promise<Claim[]> {
    // Held or written, a claim is in the feed before its worker hears of it: a run that starts leaves a
    // durable trace (the recovery above turns it into an attempt after a crash).
    const hold = this.#holding.mode() === "hold";
    const claims: Claim[] = [];
    transaction(this.#db, () => {
      const feed: NewFeedEvent[] = [];
      claims.push(...claimJobs(this.#s, this.#held, req, hold, feed));
      this.#append(feed);
    });
    return claims;
  }

  async complete(items: CompleteInput[], now: number): Promise<FinishOutcome[]> {
    if (items.length === 0) return [];
    const out = transaction(this.#db, () => {
      const feed: NewFeedEvent[] = [];
      const outcomes = completeJobs(this.#s, this.#held, items, now, feed);
      this.#append(feed);
      return outcomes;
    });
    // After the commit: a rolled-back batch keeps its claims held.
    for (const c of items) if (this.#held.match(c.jobId, c.lease, c.workerId)) this.#held.delete(c.jobId);
    return out;
  }

  async fail(items: FailInput[], now: number): Promise<FinishOutcome[]> {
    return transaction(this.#db, () => {
      this.#holding.hardenLeases(items);
      // A retry without backoff is `queued` again, maybe ahead of the claim floor.
      this.#held.floor.reset();
      const feed: NewFeedEvent[] = [];
      const out = items.map((f) => failLease(this.#s, f, now, feed));
      this.#append(feed);
      return out;
    });
  }

  async release(items: LeaseRef[], now: number): Promise<FinishOutcome[]> {
    this.#held.floor.reset();
    return transaction(this.#db, () => {
      const feed: NewFeedEvent[] = [];
      const released = (row: Record<string, unknown> | undefined, l: LeaseRef): FinishOutcome => {
        if (!row) return { ok: false, jobId: l.jobId };
        const job = toJobState(row);
        feed.push(
          change("release", "running", "queued", { ...job, attempts: l.attempt, workerId: l.workerId }, now),
        );
        return { ok: true, job };
      };
      const out = items.map((l): FinishOutcome => {
        if (this.#held.match(l.jobId, l.lease, l.workerId)) {
          // Never written as running: giving it back is forgetting it (the feed says so), and the row
          // reads as a written lease's release would leave it.
          this.#held.delete(l.jobId);
          return released(this.#s.releaseHeld.get(now, now, l.jobId), l);
        }
        return released(this.#s.releaseOne.get(now, now, l.jobId, l.lease, l.workerId), l);
      });
      this.#append(feed);
      return out;
    });
  }

  async heartbeat(workerId: string, leases: LeaseId[], leaseUntil: number, now: number): Promise<string[]> {
    if (leases.length === 0) return [];
    const current = new Set<string>();
    const written: LeaseId[] = [];
    for (const l of leases) {
      const c = this.#held.match(l.jobId, l.lease, workerId);
      if (c) {
        this.#held.renew(c, leaseUntil, now);
        current.add(l.jobId);
      } else written.push(l);
    }
    if (written.length > 0)
      transaction(this.#db, () => {
        const pairs = JSON.stringify(written.map((l) => [l.jobId, l.lease]));
        for (const r of this.#s.renewLeases.all(leaseUntil, now, pairs, workerId))
          current.add(r.id as string);
      });
    return leases.filter((l) => !current.has(l.jobId)).map((l) => l.jobId);
  }

  async reapExpired(now: number, limit: number): Promise<JobState[]> {
    return transaction(this.#db, () => {
      this.#holding.harden(this.#held.select((c) => c.leaseUntil < now));
      const rows = this.#s.expired.all(now, limit);
      const feed: NewFeedEvent[] = [];
      this.#held.floor.reset();
      const out = reapRows(
        this.#s,
        rows,
        "LEASE_EXPIRED",
        "The worker stopped renewing its lease",
        now,
        feed,
      );
      this.#append(feed);
      return out;
    });
  }

  async reapWorkers(workerIds: string[], code: string, now: number): Promise<JobState[]> {
    if (workerIds.length === 0) return [];
    return transaction(this.#db, () => {
      const dead = new Set(workerIds);
      this.#holding.harden(this.#held.select((c) => dead.has(c.workerId)));
      const rows = this.#s.runningOfWorkers.all(JSON.stringify(workerIds));
      const feed: NewFeedEvent[] = [];
      this.#held.floor.reset();
      const out = reapRows(this.#s, rows, code, "The worker that ran the attempt is gone", now, feed);
      this.#append(feed);
      return out;
    });
  }

  async setProgress(items: (LeaseId & { progress: number })[], now: number): Promise<void> {
    transaction(this.#db, () => {
      this.#holding.hardenLeases(items);
      for (const p of items) this.#s.setProgress.run(p.progress, now, p.jobId, p.lease);
    });
  }

  async cancel(id: string, now: number, audit?: AuditEntry): Promise<ChangeOutcome> {
    return this.#changeJob(audit, (feed) => cancelJob(this.#s, this.#holding, id, now, feed));
  }

  async retry(id: string, now: number, audit?: AuditEntry): Promise<ChangeOutcome> {
    return this.#changeJob(audit, (feed) => retryJob(this.#s, this.#holding, id, now, feed));
  }

  /** A manual change with its audit entry (when it took effect) and its feed rows, in one transaction. */
  #changeJob(audit: AuditEntry | undefined, fn: (feed: NewFeedEvent[]) => ChangeOutcome): ChangeOutcome {
    return transaction(this.#db, () => {
      const feed: NewFeedEvent[] = [];
      const out = fn(feed);
      if (audit && out.ok) this.#audit(audit);
      this.#append(feed);
      return out;
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
    return listJobs(this.#s, q);
  }

  async listAttempts(jobId: string): Promise<Attempt[]> {
    return listAttempts(this.#s, jobId);
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

  async logBytes(jobIds: string[]): Promise<Map<string, number>> {
    return logBytes(this.#db, jobIds);
  }

  async readLogs(jobId: string, afterSeq: number, limit: number): Promise<StoredLogChunk[]> {
    return readLogs(this.#s, jobId, afterSeq, limit);
  }

  async readFeed(afterSeq: number, limit: number): Promise<FeedEvent[]> {
    return this.#feed.read(afterSeq, limit);
  }

  async readFailures(afterSeq: number, upTo: number, limit: number): Promise<FeedEvent[]> {
    return this.#feed.failures(afterSeq, upTo, limit);
  }

  async feedBounds(): Promise<FeedBounds> {
    return this.#feed.bounds();
  }

  async pruneFeed(before: number, limit: number): Promise<number> {
    return transaction(this.#db, () => this.#feed.prune(before, limit));
  }
}
