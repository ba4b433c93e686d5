/**
 * Wire types of the REST API: the JSON the server sends and accepts, times as ISO 8601 strings. Plain
 * interfaces with no imports and no runtime code, so the server, the CLI, the dashboard and any client can
 * share them. The server's schemas (src/api/schemas.ts) are the source of truth; these mirror them.
 */
export type JobStatus = "pending" | "scheduled" | "queued" | "running" | "completed" | "failed" | "cancelled";

export interface Backoff {
  type: "exponential" | "fixed";
  delayMs: number;
  maxDelayMs?: number;
  /** 0..1: the share of the delay that is randomised (spreads retries of many jobs that failed at once). */
  jitter?: number;
}

export interface ApiJobError {
  code: string;
  message: string;
  details?: unknown;
}

export interface ApiJob {
  id: string;
  queue: string;
  type: string;
  payload: unknown;
  status: JobStatus;
  priority: number;
  attempts: number;
  maxAttempts: number;
  backoff: Backoff;
  timeoutMs: number | null;
  runAt: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  result: unknown;
  error: ApiJobError | null;
  progress: number | null;
  workerId: string | null;
  leaseExpiresAt: string | null;
  idempotencyKey: string | null;
  owner: string;
  tags: string[];
  constraints: Record<string, string>;
  scheduleId: string | null;
  scheduledTime: string | null;
}

export interface SubmitJob {
  type: string;
  payload?: unknown;
  queue?: string;
  priority?: number;
  runAt?: string;
  delayMs?: number;
  maxAttempts?: number;
  backoff?: Backoff;
  timeoutMs?: number;
  idempotencyKey?: string;
  tags?: string[];
  constraints?: Record<string, string>;
}

/** What a shell job's `result` holds (the tails of its output; the full log is at /jobs/:id/logs). */
export interface ShellResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface JobPage {
  items: ApiJob[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}

export interface ApiAttempt {
  attempt: number;
  status: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number;
  workerId: string | null;
  exitCode: number | null;
  httpStatus: number | null;
  error: ApiJobError | null;
}

export interface ApiMetrics {
  nodeId: string;
  uptimeSeconds: number;
  /** Absent when asked with `?counts=false`. */
  counts?: {
    byStatus: Partial<Record<JobStatus, number>>;
    byQueue: Record<string, Partial<Record<JobStatus, number>>>;
  };
  throughput: { jobsPerSecond: number; finishedTotal: number };
  workers: { running: number; capacity: number; utilisation: number };
  extra?: Record<string, unknown>;
}

export interface ApiHealth {
  status: "ok";
  nodeId: string;
  version: string;
}

export interface ApiReady {
  status: "ready";
}

export interface ApiNode {
  id: string;
  address: string;
  role: "leader" | "follower" | "lost";
  lastSeenAt: string;
  startedAt?: string;
  version: string;
}

export interface ApiCluster {
  /** The node that answered. */
  self: string;
  leader: string | null;
  nodes: ApiNode[];
}

export interface ApiWorker {
  id: string;
  labels: Record<string, string>;
  capacity: number;
  running: number;
  types: string[];
  queues: string[] | null;
  status: "active" | "draining" | "lost";
  lastSeenAt: string;
  registeredAt: string;
  version: string | null;
}

export interface ListQuery {
  /** One status or several (sent comma-separated). */
  status?: JobStatus | JobStatus[];
  queue?: string;
  type?: string;
  limit?: number;
  cursor?: string;
}

export interface ApiSchedule {
  id: string;
  name: string | null;
  cron: string;
  timezone: string;
  job: SubmitJob;
  overlap: "allow" | "skip" | "queue";
  catchUp: "none" | "latest" | "all";
  catchUpWindowMs: number;
  startAt: string | null;
  endAt: string | null;
  paused: boolean;
  alert: { webhookUrl: string; hasSecret: boolean } | null;
  owner: string;
  createdAt: string;
  updatedAt: string;
  lastFireTime: string | null;
  nextRuns: string[];
}

export interface ApiScheduleRun {
  jobId: string;
  scheduledTime: string | null;
  enqueuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  status: JobStatus;
  httpStatus: number | null;
  durationMs: number | null;
  error: ApiJobError | null;
  attempts: number;
}

/** A job changed state (GET /events); `seq` is its place in the change feed, increasing store-wide. */
export interface ApiJobEvent {
  kind: "job";
  seq: number;
  at: string;
  jobId: string;
  /** The lifecycle event: enqueue, promote, unblock, claim, complete, fail, retry-wait, release, … */
  event: string;
  from: JobStatus | null;
  /** null: the job was removed (a withdrawn schedule fire). */
  to: JobStatus | null;
  attempt: number;
  workerId: string | null;
  code: string | null;
  owner: string;
  queue: string;
  type: string;
  scheduleId: string | null;
}

/** logs: true: a chunk of the job's log. */
export interface ApiLogEvent {
  kind: "log";
  jobId: string;
  logSeq: number;
  at: string;
  stream: "stdout" | "stderr" | "system";
  data: string;
}

/** progress: true: the job's progress changed. */
export interface ApiProgressEvent {
  kind: "progress";
  jobId: string;
  progress: number;
}

export type ApiEvent = ApiJobEvent | ApiLogEvent | ApiProgressEvent;

export interface EventsQuery {
  /** Start after this cursor (a seq, or `<seq>:<logSeq>` with logs); without it, from now. */
  since?: number | string;
  jobId?: string;
  queue?: string;
  type?: string;
  /** The status after the change. */
  status?: JobStatus | JobStatus[];
  scheduleId?: string;
  owner?: string;
  /** With jobId: the job's log lines (from its first line, or after the cursor's logSeq). */
  logs?: boolean;
  /** With jobId: the job's progress when it changes. */
  progress?: boolean;
  /** false: the retained changes after `since`, then the iterator ends. Default true: live, until aborted. */
  follow?: boolean;
  signal?: AbortSignal;
}
