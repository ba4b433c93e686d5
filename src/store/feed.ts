/**
 * The change feed's rows: one per state change of a job, written by the store in the transaction of the
 * change itself, numbered by a store-wide increasing sequence (the order in which the changes became
 * visible). Everything that reacts to jobs (events API, alerts, flows, quotas, wake-ups across nodes)
 * reads these rows, so a change no reader saw is still there after a crash.
 *
 * `change()` is how a store describes a change: it checks (from, event, to) against the lifecycle table
 * (core/lifecycle.ts) and throws INVALID_TRANSITION otherwise, which rolls the store's transaction back.
 */

import type { JobState, JobStatus } from "../core/job.ts";
import { type LifecycleEvent, transition } from "../core/lifecycle.ts";

export interface FeedEvent {
  seq: number;
  at: number;
  jobId: string;
  event: LifecycleEvent;
  from: JobStatus | null;
  /** null: the job no longer exists (a staged schedule fire was withdrawn). */
  to: JobStatus | null;
  attempt: number;
  workerId: string | null;
  /** The error code of a failure, or the reason of a change that has one. */
  code: string | null;
  owner: string;
  queue: string;
  type: string;
  scheduleId: string | null;
}

export type NewFeedEvent = Omit<FeedEvent, "seq">;

/** What a change needs to know of its job: a JobState, or the columns a claim reads. */
export type FeedSubject = Pick<JobState, "id" | "owner" | "queue" | "type" | "scheduleId"> & {
  attempts: number;
  workerId: string | null;
};

export function change(
  event: LifecycleEvent,
  from: JobStatus | null,
  to: JobStatus | null,
  job: FeedSubject,
  at: number,
  code: string | null = null,
): NewFeedEvent {
  transition(from, event, to);
  return {
    at,
    jobId: job.id,
    event,
    from,
    to,
    attempt: job.attempts,
    workerId: job.workerId,
    code,
    owner: job.owner,
    queue: job.queue,
    type: job.type,
    scheduleId: job.scheduleId,
  };
}

/** The feed's extent: the oldest retained and the latest sequence (0 and 0 for an empty feed). */
export interface FeedBounds {
  oldest: number;
  latest: number;
}

export function toFeedEvent(r: Record<string, unknown>): FeedEvent {
  return {
    seq: Number(r.seq),
    at: Number(r.at),
    jobId: r.job_id as string,
    event: r.event as LifecycleEvent,
    from: (r.from_status as JobStatus | null) ?? null,
    to: (r.to_status as JobStatus | null) ?? null,
    attempt: Number(r.attempt),
    workerId: (r.worker_id as string | null) ?? null,
    code: (r.code as string | null) ?? null,
    owner: r.owner as string,
    queue: r.queue as string,
    type: r.type as string,
    scheduleId: (r.schedule_id as string | null) ?? null,
  };
}
