/**
 * The change feed on PostgreSQL (store/feed.ts), one row per batch of changes. `appendFeed` must be the
 * last statement of its transaction, and `feedCte` the last part of its statement: the insert takes the
 * feed's ordering lock (migration 006) and holds it to the commit, so a transaction that appended never
 * waits for anything while others queue behind it.
 */
import type postgres from "postgres";
import type { JobStatus } from "../../core/job.ts";
import { type LifecycleEvent, transition } from "../../core/lifecycle.ts";
import {
  boundsOf,
  changesAfter,
  encodeChanges,
  type FeedBounds,
  type FeedEvent,
  type NewFeedEvent,
  rowOf,
  rowsOf,
} from "../feed.ts";
import type { Sql } from "./connection.ts";

export async function appendFeed(tx: Sql | postgres.TransactionSql, events: NewFeedEvent[]): Promise<void> {
  const rows = rowsOf(events).map((row) => ({
    at: row[0]!.at,
    n: row.length,
    failed: row.some((e) => e.to === "failed"),
    changes: encodeChanges(row),
  }));
  if (rows.length > 0) await tx`INSERT INTO job_events ${tx(rows)}`;
}

/**
 * The feed row as the last CTE of a single-statement change, for the hot paths (one round trip, no
 * transaction block): `rows` names a data-modifying CTE returning the changed jobs (their new `status`
 * is each change's `to`), which become one row of changes (nothing when it changed none). PostgreSQL runs
 * a data-modifying CTE the main query does not read after the main query has read `rows` to the end, so
 * the ordering lock (the insert's trigger) is taken after every row lock of the statement, as in
 * appendFeed. The statuses it may reach are checked against the lifecycle table here, once per
 * statement shape. The JSON is built as encodeChanges builds it.
 */
export function feedCte(
  sql: Sql,
  rows: string,
  change: { event: LifecycleEvent; from: JobStatus | null; to: readonly JobStatus[] },
  now: number,
) {
  for (const to of change.to) transition(change.from, change.event, to);
  return sql`feed AS (
    INSERT INTO job_events (at, n, failed, changes)
    SELECT ${now}::bigint, count(*), bool_or(status = 'failed'), json_agg(json_build_array(id,
      ${change.event}::text, ${change.from}::text, status, attempts, worker_id, NULL, owner, queue, type,
      schedule_id))::text
    FROM ${sql(rows)} HAVING count(*) > 0)`;
}

export async function readFeed(sql: Sql, afterSeq: number, limit: number): Promise<FeedEvent[]> {
  // Rows hold one change at least: `limit + 1` rows from the one holding `afterSeq` are enough.
  const rows =
    await sql`SELECT * FROM job_events WHERE seq >= ${rowOf(afterSeq)} ORDER BY seq LIMIT ${limit + 1}`;
  return changesAfter(rows, afterSeq, limit);
}

export async function readFailures(
  sql: Sql,
  afterSeq: number,
  upTo: number,
  limit: number,
): Promise<FeedEvent[]> {
  const rows = await sql`SELECT * FROM job_events WHERE failed AND seq >= ${rowOf(afterSeq)}
      AND seq <= ${rowOf(upTo)} ORDER BY seq LIMIT ${limit + 1}`;
  return changesAfter(rows, afterSeq, Number.MAX_SAFE_INTEGER)
    .filter((e) => e.to === "failed" && e.seq <= upTo)
    .slice(0, limit);
}

export async function feedBounds(sql: Sql): Promise<FeedBounds> {
  // The newest visible row: the sequence itself may already name a row whose transaction has not
  // committed, which a reader starting from it would skip. Only an empty feed (retention removed every
  // row) falls back to the sequence, so numbers are never handed out twice.
  const [r] = await sql`SELECT (SELECT seq FROM job_events ORDER BY seq DESC LIMIT 1) AS last_seq,
      (SELECT n FROM job_events ORDER BY seq DESC LIMIT 1) AS last_n,
      (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM job_events_seq_seq) AS counter,
      (SELECT seq FROM feed_cursors WHERE reader = 'pruned') AS pruned`;
  return boundsOf(
    r?.last_seq == null ? null : { seq: Number(r.last_seq), n: Number(r.last_n) },
    Number(r?.counter ?? 0),
    Number(r?.pruned ?? 0),
  );
}

export async function pruneFeed(sql: Sql, before: number, limit: number): Promise<number> {
  // Only the first `limit` rows are looked at: nothing old enough costs one index probe.
  // The rows go and the edge of what went is recorded, in one statement.
  const [r] = await sql`WITH gone AS (
      DELETE FROM job_events WHERE seq IN (SELECT seq FROM job_events ORDER BY seq LIMIT ${limit}) AND at < ${before}
      RETURNING seq),
    edge AS (
      INSERT INTO feed_cursors (reader, seq) SELECT 'pruned', max(seq) FROM gone HAVING count(*) > 0
      ON CONFLICT (reader) DO UPDATE SET seq = GREATEST(feed_cursors.seq, excluded.seq))
    SELECT count(*)::int AS n FROM gone`;
  return Number(r?.n ?? 0);
}
