/**
 * The storage contract. Every operation takes and returns lists so each backend can do one transaction
 * (SQLite) or one round trip (PostgreSQL) per batch. Nothing here exposes a connection or a SQL dialect;
 * backend differences live in the backend folders. test/store/conformance.ts runs against every backend.
 *
 * Lease rule: a running job's attempt is identified by its claim's lease token (Claim.lease) and held by
 * the worker the claim went to. complete/fail/release/heartbeat apply only while that lease is current
 * and named by that worker (progress by the token); a late report from a
 * worker that lost its lease is "stale" and changes nothing (that is how at-least-once never becomes
 * double completion).
 *
 * Audit rule: enqueue, cancel and retry take an optional audit entry (store/identity-store.ts), written in
 * the same transaction as the change and only when it took effect (a refused cancel writes none); an
 * entry the database refuses undoes the change. Internal callers (scheduler fires, recovery) pass none.
 */
import type { Attempt, Claim, Job, JobError, JobState, JobStatus, NewJob } from "../core/job.ts";
import type { WaitingWorker, WorkerFit } from "../core/placement.ts";
import type { FeedBounds, FeedEvent } from "./feed.ts";
import type { AuditEntry } from "./identity-store.ts";

export interface StoreFeatures {
  /** Several processes may share this store (PostgreSQL); SQLite is single-node. */
  readonly shared: boolean;
}

export interface EnqueueOutcome {
  job: Job;
  /** false when the idempotency key (or schedule fire) already existed and `job` is the existing one. */
  created: boolean;
}

export interface ClaimRequest {
  now: number;
  leaseMs: number;
  workers: WaitingWorker[];
  /**
   * Live workers waiting on other nodes of a shared store (core/placement.ts): the store counts what
   * they run and leaves them the jobs least-loaded placement gives them.
   */
  peers?: PeerWorker[];
  /** Told how many ready jobs this claim left queued for peers (their nodes must be woken). */
  onLeftForPeers?: (count: number) => void;
}

export interface PeerWorker extends WorkerFit {
  workerId: string;
  capacity: number;
}

export interface LeaseRef {
  jobId: string;
  /** The claim's token: what identifies the lease. */
  lease: string;
  /** The attempt, as the claim gave it (recorded with the change, never matched on). */
  attempt: number;
  /** The worker the claim went to: only it holds the lease (a token alone, seen elsewhere, does not). */
  workerId: string;
}

/** A lease as a heartbeat or a progress report names it. */
export interface LeaseId {
  jobId: string;
  lease: string;
}

export interface CompleteInput extends LeaseRef {
  result: unknown;
  /** `result` as JSON, when the caller has already encoded it (engine/result-limit.ts): not done twice. */
  resultJson?: string;
  exitCode?: number | null;
  httpStatus?: number | null;
}

export interface FailInput extends LeaseRef {
  error: JobError;
  /** false: fail the job now whatever attempts remain. */
  retryable: boolean;
  exitCode?: number | null;
  httpStatus?: number | null;
}

export type FinishOutcome =
  | { ok: true; job: JobState }
  /** The lease was not current (cancelled, reaped, or already reported): nothing changed. */
  | { ok: false; jobId: string };

export interface JobQuery {
  status?: JobStatus[];
  queue?: string;
  type?: string;
  owner?: string;
  scheduleId?: string;
  /** Jobs whose tags include this one. */
  tag?: string;
  /** Newest first; the cursor is the last seen seq. */
  beforeSeq?: number;
  limit: number;
}

export interface LogChunk {
  jobId: string;
  at: number;
  stream: "stdout" | "stderr" | "system";
  data: string;
}

export interface StoredLogChunk extends LogChunk {
  seq: number;
}

export interface JobCounts {
  byStatus: Partial<Record<JobStatus, number>>;
  byQueue: Record<string, Partial<Record<JobStatus, number>>>;
}

export type ChangeOutcome =
  | { ok: true; job: Job }
  | { ok: false; reason: "not_found" | "invalid_state"; job?: Job };

export interface Store {
  readonly features: StoreFeatures;
  /** The last process that had this (embedded) store open did not close it: it crashed or was killed. */
  readonly recoveredFromCrash?: boolean;
  migrate(): Promise<void>;
  /** Throws when the store cannot answer (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;

  /**
   * `audit`: one entry for the whole call, written when it created at least one job, its details given
   * `count` (the jobs created) and `jobIds` (the first AUDITED_JOB_IDS of them, identity-rows.ts).
   */
  enqueue(jobs: NewJob[], now: number, audit?: AuditEntry): Promise<EnqueueOutcome[]>;
  /** Moves due scheduled jobs to queued; returns how many moved. */
  promoteDue(now: number): Promise<number>;
  /** The earliest runAt of a scheduled job, or null. */
  nextRunAt(): Promise<number | null>;
  /**
   * Leases `queued` jobs to waiting workers (placement by core/placement.ts). Scheduled jobs become
   * claimable only through promoteDue, which the dispatcher runs at their runAt.
   */
  claim(request: ClaimRequest): Promise<Claim[]>;
  complete(items: CompleteInput[], now: number): Promise<FinishOutcome[]>;
  fail(items: FailInput[], now: number): Promise<FinishOutcome[]>;
  /** Gives leases back without spending the attempt (graceful shutdown). */
  release(items: LeaseRef[], now: number): Promise<FinishOutcome[]>;
  /** Extends these leases of the worker; returns the job ids whose lease is no longer current. */
  heartbeat(workerId: string, leases: LeaseId[], leaseUntil: number, now: number): Promise<string[]>;
  /** Fails the attempts whose lease ran out (code LEASE_EXPIRED) and retries them per backoff. */
  reapExpired(now: number, limit: number): Promise<JobState[]>;
  /** Fails the running attempts of the given workers at once (they are known to be dead). */
  reapWorkers(workerIds: string[], code: string, now: number): Promise<JobState[]>;
  setProgress(items: (LeaseId & { progress: number })[], now: number): Promise<void>;

  cancel(id: string, now: number, audit?: AuditEntry): Promise<ChangeOutcome>;
  retry(id: string, now: number, audit?: AuditEntry): Promise<ChangeOutcome>;

  getJob(id: string): Promise<Job | null>;
  getJobs(ids: string[]): Promise<Job[]>;
  listJobs(query: JobQuery): Promise<Job[]>;
  listAttempts(jobId: string): Promise<Attempt[]>;
  counts(): Promise<JobCounts>;

  appendLogs(chunks: LogChunk[]): Promise<void>;
  /** Bytes (UTF-8) of log already stored per job, for the per-job cap (engine/log-cap.ts). */
  logBytes(jobIds: string[]): Promise<Map<string, number>>;
  readLogs(jobId: string, afterSeq: number, limit: number): Promise<StoredLogChunk[]>;

  /** The change feed (store/feed.ts): changes after `afterSeq`, in sequence order. */
  readFeed(afterSeq: number, limit: number): Promise<FeedEvent[]>;
  /** Only the changes that ended a job failed, after `afterSeq` and up to `upTo` (alerts read these). */
  readFailures(afterSeq: number, upTo: number, limit: number): Promise<FeedEvent[]>;
  feedBounds(): Promise<FeedBounds>;
  /** Deletes up to `limit` of the oldest changes made before `before`; returns how many went. */
  pruneFeed(before: number, limit: number): Promise<number>;
}
