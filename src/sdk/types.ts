/**
 * Wire types of the REST API (what JSON the server sends). Times are ISO 8601 strings. The server's
 * schemas (src/api/schemas.ts) are the source of truth; these mirror them for clients.
 */
export type JobStatus = "pending" | "scheduled" | "queued" | "running" | "completed" | "failed" | "cancelled";

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
  backoff: { type: "exponential" | "fixed"; delayMs: number; maxDelayMs?: number; jitter?: number };
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
  backoff?: { type: "exponential" | "fixed"; delayMs: number; maxDelayMs?: number; jitter?: number };
  timeoutMs?: number;
  idempotencyKey?: string;
  tags?: string[];
  constraints?: Record<string, string>;
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
  counts: {
    byStatus: Partial<Record<JobStatus, number>>;
    byQueue: Record<string, Partial<Record<JobStatus, number>>>;
  };
  throughput: { jobsPerSecond: number };
  workers: { running: number; capacity: number; utilisation: number };
  extra?: Record<string, unknown>;
}

export interface ApiCluster {
  self: string;
  leader: string | null;
  nodes: {
    id: string;
    address: string;
    role: "leader" | "follower" | "lost";
    lastSeenAt: string;
    version: string;
  }[];
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
