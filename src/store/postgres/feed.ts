/**
 * The change feed on PostgreSQL (store/feed.ts). `appendFeed` must be the last statement of its
 * transaction: the insert takes the feed's ordering lock (migration 006) and holds it to the commit, so
 * a transaction that appended never waits for anything while others queue behind it.
 */
import type postgres from "postgres";
import type { JobStatus } from "../../core/job.ts";
import { type LifecycleEvent, transition } from "../../core/lifecycle.ts";
import { type FeedBounds, type FeedEvent, type NewFeedEvent, toFeedEvent } from "../feed.ts";
import type { Sql } from "./connection.ts";

const TEXT = 25;
const INT = 23;
const BIGINT = 20;

export async function appendFeed(tx: Sql | postgres.TransactionSql, events: NewFeedEvent[]): Promise<void> {
  if (events.length === 0) return;
  const col = <T>(fn: (e: NewFeedEvent) => T) => events.map(fn);
  await tx`INSERT INTO job_events
      (at, job_id, event, from_status, to_status, attempt, worker_id, code, owner, queue, type, schedule_id)
    SELECT * FROM unnest(
      ${tx.array(
        col((e) => e.at),
        BIGINT,
      )}::bigint[], ${tx.array(
        col((e) => e.jobId),
        TEXT,
      )}::text[], ${tx.array(
        col((e) => e.event),
        TEXT,
      )}::text[],
      ${tx.array(
        col((e) => e.from),
        TEXT,
      )}::text[], ${tx.array(
        col((e) => e.to),
        TEXT,
      )}::text[], ${tx.array(
        col((e) => e.attempt),
        INT,
      )}::int[],
      ${tx.array(
        col((e) => e.workerId),
        TEXT,
      )}::text[], ${tx.array(
        col((e) => e.code),
        TEXT,
      )}::text[], ${tx.array(
        col((e) => e.owner),
        TEXT,
      )}::text[],
      ${tx.array(
        col((e) => e.queue),
        TEXT,
      )}::text[], ${tx.array(
        col((e) => e.type),
        TEXT,
      )}::text[], ${tx.array(
        col((e) => e.scheduleId),
        TEXT,
      )}::text[])`;
}

/**
 * The feed insert as the last CTE of a single-statement change, for the hot paths (one round trip, no
 * transaction block): `rows` names a data-modifying CTE returning the changed jobs. PostgreSQL runs a
 * data-modifying CTE the main query does not read after the main query has read `rows` to the end, so
 * the ordering lock (the insert's trigger) is taken after every row lock of the statement, as in
 * appendFeed. The change is checked against the lifecycle table here, once per statement shape.
 */
export function feedCte(
  sql: Sql,
  rows: string,
  change: { event: LifecycleEvent; from: JobStatus | null; to: JobStatus },
  now: number,
) {
  transition(change.from, change.event, change.to);
  return sql`feed AS (
    INSERT INTO job_events
      (at, job_id, event, from_status, to_status, attempt, worker_id, code, owner, queue, type, schedule_id)
    SELECT ${now}::bigint, id, ${change.event}, ${change.from}::text, ${change.to}, attempts, worker_id, NULL,
      owner, queue, type, schedule_id
    FROM ${sql(rows)})`;
}

export async function readFeed(sql: Sql, afterSeq: number, limit: number): Promise<FeedEvent[]> {
  const rows = await sql`SELECT * FROM job_events WHERE seq > ${afterSeq} ORDER BY seq LIMIT ${limit}`;
  return rows.map(toFeedEvent);
}

export async function readFailures(
  sql: Sql,
  afterSeq: number,
  upTo: number,
  limit: number,
): Promise<FeedEvent[]> {
  const rows = await sql`SELECT * FROM job_events WHERE to_status = 'failed' AND seq > ${afterSeq}
      AND seq <= ${upTo} ORDER BY seq LIMIT ${limit}`;
  return rows.map(toFeedEvent);
}

export async function feedBounds(sql: Sql): Promise<FeedBounds> {
  // The newest visible row: the sequence itself may already name a row whose transaction has not
  // committed, which a reader starting from it would skip. Only an empty feed (retention removed every
  // row) falls back to the sequence, so numbers are never handed out twice.
  const [r] = await sql`SELECT MIN(seq) AS oldest, MAX(seq) AS newest,
      (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM job_events_seq_seq) AS counter
    FROM job_events`;
  const latest = Number(r?.newest ?? r?.counter ?? 0);
  return { oldest: r?.oldest == null ? latest + 1 : Number(r.oldest), latest };
}

export async function pruneFeed(sql: Sql, before: number, limit: number): Promise<number> {
  // Only the first `limit` rows are looked at: nothing old enough costs one index probe.
  const r = await sql`DELETE FROM job_events WHERE seq IN (
      SELECT seq FROM job_events ORDER BY seq LIMIT ${limit}) AND at < ${before}`;
  return r.count;
}
