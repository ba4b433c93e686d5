/**
 * The job model shared by every layer. Times are epoch milliseconds inside Bosun; the API turns them into
 * ISO 8601 strings at the edge (api/views.ts), so the hot path never formats dates.
 */

export const JOB_STATUSES = [
  "pending",
  "scheduled",
  "queued",
  "running",
  "completed",
  "failed",
  "cancelled",
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

const TERMINAL: ReadonlySet<JobStatus> = new Set(["completed", "failed", "cancelled"]);
export const isTerminal = (status: JobStatus): boolean => TERMINAL.has(status);

export interface Backoff {
  type: "exponential" | "fixed";
  /** First delay (exponential) or every delay (fixed). */
  delayMs: number;
  maxDelayMs?: number;
  /** 0..1: the delay is spread uniformly over [d*(1-jitter), d]. */
  jitter?: number;
}

export const DEFAULT_BACKOFF: Backoff = Object.freeze({
  type: "exponential",
  delayMs: 1000,
  maxDelayMs: 3_600_000,
  jitter: 0,
});
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_QUEUE = "default";

export interface JobError {
  code: string;
  message: string;
  details?: unknown;
}

export interface Job {
  id: string;
  /** Insertion order; the FIFO tie-breaker and the list cursor. */
  seq: number;
  queue: string;
  type: string;
  payload: unknown;
  status: JobStatus;
  priority: number;
  attempts: number;
  maxAttempts: number;
  backoff: Backoff;
  timeoutMs: number | null;
  runAt: number;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  result: unknown;
  error: JobError | null;
  progress: number | null;
  workerId: string | null;
  leaseExpiresAt: number | null;
  idempotencyKey: string | null;
  owner: string;
  tags: string[];
  /** Worker labels the job needs, e.g. {gpu: "true"}. */
  constraints: Record<string, string>;
  scheduleId: string | null;
  scheduledTime: number | null;
}

/** A validated job ready to store (defaults applied, times resolved). */
export interface NewJob {
  id: string;
  queue: string;
  type: string;
  payload: unknown;
  priority: number;
  runAt: number;
  maxAttempts: number;
  backoff: Backoff;
  timeoutMs: number | null;
  idempotencyKey: string | null;
  owner: string;
  tags: string[];
  constraints: Record<string, string>;
  scheduleId: string | null;
  scheduledTime: number | null;
}

/** What a worker needs to run one attempt: a lease on a job. */
export interface Claim {
  id: string;
  attempt: number;
  workerId: string;
  /**
   * This claim's own token: complete, fail, release, heartbeat and progress name it. (jobId, attempt,
   * workerId) is not enough: a released attempt is not spent, so the next claim of the job by the same
   * worker has the same attempt number.
   */
  lease: string;
  queue: string;
  type: string;
  payload: unknown;
  timeoutMs: number | null;
  maxAttempts: number;
  leaseExpiresAt: number;
  /** For jobs spawned by a schedule: the fire time (start drift is measured against it). */
  scheduledTime: number | null;
}

export interface Attempt {
  jobId: string;
  attempt: number;
  status: "completed" | "failed" | "cancelled";
  startedAt: number;
  finishedAt: number;
  durationMs: number;
  workerId: string | null;
  exitCode: number | null;
  httpStatus: number | null;
  error: JobError | null;
}

/** The part of a job that state-change events and finish outcomes carry (no payload or result parsing). */
export interface JobState {
  id: string;
  queue: string;
  type: string;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  owner: string;
  workerId: string | null;
  scheduleId: string | null;
  scheduledTime: number | null;
  runAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: JobError | null;
}
