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

/**
 * The feed's extent. Every change after `oldest - 1` is still kept (retention has removed none of them),
 * so a reader at a cursor below `oldest - 1` has missed changes; `latest` is the newest change's sequence
 * (0 for a feed that never had one).
 */
export interface FeedBounds {
  oldest: number;
  latest: number;
}

/**
 * How changes are stored: one row per batch of changes made together (the changes of one store call,
 * which share their time), not one row per change, so that a batch of 500 completions adds one row
 * rather than 500 — on PostgreSQL 500 rows cost the drain two fifths of its throughput. A change's
 * sequence is its row's sequence times ROW_SPAN plus its place in the row: increasing, unique, and a
 * plain number. A row holds at most ROW_SPAN changes (stores split bigger batches).
 */
export const ROW_SPAN = 65_536;

/** The JSON a row holds: the changes' fields in this order (time and sequence are the row's). */
export const encodeChanges = (events: readonly NewFeedEvent[]): string =>
  JSON.stringify(
    events.map((e) => [
      e.jobId,
      e.event,
      e.from,
      e.to,
      e.attempt,
      e.workerId,
      e.code,
      e.owner,
      e.queue,
      e.type,
      e.scheduleId,
    ]),
  );

type Encoded = [
  string,
  LifecycleEvent,
  JobStatus | null,
  JobStatus | null,
  number,
  string | null,
  string | null,
  string,
  string,
  string,
  string | null,
];

/** The changes of one stored row, each with its own sequence. */
export function decodeRow(r: Record<string, unknown>): FeedEvent[] {
  const base = Number(r.seq) * ROW_SPAN;
  const at = Number(r.at);
  return (JSON.parse(r.changes as string) as Encoded[]).map((c, i) => ({
    seq: base + i,
    at,
    jobId: c[0],
    event: c[1],
    from: c[2],
    to: c[3],
    attempt: c[4],
    workerId: c[5],
    code: c[6],
    owner: c[7],
    queue: c[8],
    type: c[9],
    scheduleId: c[10],
  }));
}

/** The row that holds the change `seq` (and the first row a read after `seq` must look at). */
export const rowOf = (seq: number): number => Math.floor(seq / ROW_SPAN);

/** Splits changes into rows: consecutive changes of one time, at most ROW_SPAN each. */
export function rowsOf(events: readonly NewFeedEvent[]): NewFeedEvent[][] {
  const rows: NewFeedEvent[][] = [];
  let cur: NewFeedEvent[] = [];
  for (const e of events) {
    if (cur.length > 0 && (cur.length === ROW_SPAN || cur[0]!.at !== e.at)) {
      rows.push(cur);
      cur = [];
    }
    cur.push(e);
  }
  if (cur.length > 0) rows.push(cur);
  return rows;
}

/** The changes of stored rows read from `rowOf(afterSeq)` on, after `afterSeq`, at most `limit`. */
export function changesAfter(rows: Record<string, unknown>[], afterSeq: number, limit: number): FeedEvent[] {
  const out: FeedEvent[] = [];
  for (const r of rows) {
    for (const e of decodeRow(r)) {
      if (e.seq <= afterSeq) continue;
      out.push(e);
      if (out.length === limit) return out;
    }
  }
  return out;
}

/**
 * Bounds from the table's last row (null: empty), its sequence counter, and the last row retention
 * removed (0: none ever), which is the exact edge of what was lost.
 */
export function boundsOf(
  last: { seq: number; n: number } | null,
  counter: number,
  prunedRow: number,
): FeedBounds {
  // An emptied feed still numbers on from its counter: the next row's changes follow `latest`.
  const latest = last
    ? last.seq * ROW_SPAN + last.n - 1
    : counter > 0
      ? counter * ROW_SPAN + ROW_SPAN - 1
      : 0;
  const oldest = prunedRow > 0 ? (prunedRow + 1) * ROW_SPAN : 0;
  return { oldest: last ? oldest : Math.max(oldest, latest + 1), latest };
}
