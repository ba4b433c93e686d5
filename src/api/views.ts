/** Domain → wire: epoch milliseconds become ISO 8601 strings here, at the edge, and nowhere else. */
import type { Attempt, Job } from "../core/job.ts";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function jobView(j: Job) {
  return {
    id: j.id,
    queue: j.queue,
    type: j.type,
    payload: j.payload,
    status: j.status,
    priority: j.priority,
    attempts: j.attempts,
    maxAttempts: j.maxAttempts,
    backoff: j.backoff,
    timeoutMs: j.timeoutMs,
    runAt: iso(j.runAt),
    createdAt: iso(j.createdAt),
    updatedAt: iso(j.updatedAt),
    startedAt: iso(j.startedAt),
    finishedAt: iso(j.finishedAt),
    result: j.result,
    error: j.error,
    progress: j.progress,
    workerId: j.workerId,
    leaseExpiresAt: iso(j.leaseExpiresAt),
    idempotencyKey: j.idempotencyKey,
    owner: j.owner,
    tags: j.tags,
    constraints: j.constraints,
    scheduleId: j.scheduleId,
    scheduledTime: iso(j.scheduledTime),
  };
}

export function attemptView(a: Attempt) {
  return {
    attempt: a.attempt,
    status: a.status,
    startedAt: iso(a.startedAt),
    finishedAt: iso(a.finishedAt),
    durationMs: a.durationMs,
    workerId: a.workerId,
    exitCode: a.exitCode,
    httpStatus: a.httpStatus,
    error: a.error,
  };
}
