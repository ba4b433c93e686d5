/**
 * The job lifecycle: every state change a job can make, as data. Both stores guard their statements with
 * the `from` lists read from this table and describe each change they write to the change feed by its
 * (from, event, to), which `transition()` checks: a change that is not a row here is refused (the store's
 * transaction rolls back), so no transition can exist only as SQL. docs/architecture.md draws it.
 *
 * `from: null` is a job that does not exist yet. Guards are what the store checks besides `from`; they
 * are prose because each store says them in its own SQL.
 */
import { BosunError } from "./errors.ts";
import type { JobStatus } from "./job.ts";

export const LIFECYCLE_EVENTS = [
  "enqueue",
  "promote",
  "unblock",
  "claim",
  "complete",
  "fail",
  "retry-wait",
  "release",
  "expire",
  "reap",
  "cancel",
  "retry",
  "discard",
] as const;
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

export interface Transition {
  event: LifecycleEvent;
  from: JobStatus | null;
  /** null: the row is removed. */
  to: JobStatus | null;
  guard: string;
}

const ACTIVE: JobStatus[] = ["pending", "scheduled", "queued", "running"];

/** After the server notices an attempt is dead (expire, reap): the next attempt later, now, or the end. */
const afterLoss = (event: LifecycleEvent, why: string): Transition[] => [
  { event, from: "running", to: "scheduled", guard: `${why}; attempts remain, backoff > 0` },
  { event, from: "running", to: "queued", guard: `${why}; attempts remain, no backoff` },
  { event, from: "running", to: "failed", guard: `${why}; no attempts remain` },
];

export const TRANSITIONS: readonly Transition[] = Object.freeze([
  { event: "enqueue", from: null, to: "queued", guard: "runAt <= now" },
  { event: "enqueue", from: null, to: "scheduled", guard: "runAt > now" },
  { event: "enqueue", from: null, to: "pending", guard: "waits for parents (flows)" },
  { event: "promote", from: "scheduled", to: "queued", guard: "runAt <= now" },
  { event: "unblock", from: "pending", to: "queued", guard: "its last parent completed" },
  {
    event: "claim",
    from: "queued",
    to: "running",
    guard: "a waiting worker accepts queue, type, constraints",
  },
  { event: "complete", from: "running", to: "completed", guard: "the lease is current" },
  {
    event: "fail",
    from: "running",
    to: "failed",
    guard: "the lease is current; no attempts remain, or not retryable",
  },
  {
    event: "retry-wait",
    from: "running",
    to: "scheduled",
    guard: "the lease is current; attempts remain, backoff > 0",
  },
  {
    event: "retry-wait",
    from: "running",
    to: "queued",
    guard: "the lease is current; attempts remain, no backoff",
  },
  {
    event: "release",
    from: "running",
    to: "queued",
    guard: "the lease is current; the attempt is not spent",
  },
  ...afterLoss("expire", "the lease ran out (LEASE_EXPIRED)"),
  ...afterLoss("reap", "the lease's worker is gone (WORKER_LOST)"),
  ...ACTIVE.map((from): Transition => ({ event: "cancel", from, to: "cancelled", guard: "not ended" })),
  { event: "retry", from: "failed", to: "queued", guard: "a fresh attempt budget" },
  { event: "retry", from: "cancelled", to: "queued", guard: "a fresh attempt budget" },
  {
    event: "discard",
    from: "scheduled",
    to: null,
    guard: "a schedule fire written ahead of its time is withdrawn (pause, change, delete); never started",
  },
]);

const key = (from: JobStatus | null, event: LifecycleEvent, to: JobStatus | null) => `${from}|${event}|${to}`;
const INDEX = new Map(TRANSITIONS.map((t) => [key(t.from, t.event, t.to), t]));

/** The transition, or INVALID_TRANSITION: stores call this for every change they write. */
export function transition(from: JobStatus | null, event: LifecycleEvent, to: JobStatus | null): Transition {
  const t = INDEX.get(key(from, event, to));
  if (!t)
    throw new BosunError(
      "INVALID_TRANSITION",
      `A job cannot go from ${from ?? "nothing"} to ${to ?? "nothing"} by ${event}`,
      {
        from,
        event,
        to,
      },
    );
  return t;
}

/** The statuses an event may start from: what a store's statement for it puts in its WHERE. */
export function fromStatuses(event: LifecycleEvent): JobStatus[] {
  const out = new Set<JobStatus>();
  for (const t of TRANSITIONS) if (t.event === event && t.from !== null) out.add(t.from);
  return [...out];
}

/** `'a', 'b'` for a SQL IN list; statuses are fixed literals, never input. */
export const sqlList = (statuses: readonly JobStatus[]): string => statuses.map((s) => `'${s}'`).join(", ");

/** The event of an attempt that ended badly: the server noticed it (expire, reap) or a worker said so. */
export function failureEvent(code: string, to: JobStatus): LifecycleEvent {
  if (code === "LEASE_EXPIRED") return "expire";
  if (code === "WORKER_LOST") return "reap";
  return to === "failed" ? "fail" : "retry-wait";
}
