/**
 * The change feed on SQLite (store/feed.ts): appended in the caller's transaction, one row per batch of
 * changes made together; the single writer makes the sequence the commit order. Shared by the job store
 * and the schedule store (both write job changes on the same connection).
 */
import type { DatabaseSync } from "node:sqlite";
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

export type FeedStatements = ReturnType<typeof prepareFeed>;

export function prepareFeed(db: DatabaseSync) {
  const append = db.prepare("INSERT INTO job_events (at, n, failed, changes) VALUES (?, ?, ?, ?)");
  // A read after a sequence starts at the row holding it; rows hold at least one change each.
  const read = db.prepare("SELECT * FROM job_events WHERE seq >= ? ORDER BY seq LIMIT ?");
  const failures = db.prepare(`SELECT * FROM job_events INDEXED BY job_events_failed
    WHERE failed = 1 AND seq >= ? AND seq <= ? ORDER BY seq LIMIT ?`);
  // Created by migration 008, after this table: read on demand, prepared on first use.
  const pruned = () => db.prepare("SELECT seq FROM feed_cursors WHERE reader = 'pruned'").get();
  const setPruned = (seq: number) =>
    db
      .prepare(`INSERT INTO feed_cursors (reader, seq) VALUES ('pruned', ?)
        ON CONFLICT (reader) DO UPDATE SET seq = MAX(seq, excluded.seq)`)
      .run(seq);
  const last = db.prepare("SELECT seq, n FROM job_events ORDER BY seq DESC LIMIT 1");
  const counter = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'job_events'");
  // Only the first `limit` rows are looked at, so a feed with nothing old enough costs nothing to check.
  const prune = db.prepare(`DELETE FROM job_events
    WHERE seq IN (SELECT seq FROM job_events ORDER BY seq LIMIT ?) AND at < ? RETURNING seq`);
  const latestAt = db.prepare("SELECT at FROM job_events ORDER BY seq DESC LIMIT 1");
  // Walks back from the newest row: seq and at grow together (one writer, one clock), so it reads only
  // the window itself.
  const lastBefore = db.prepare("SELECT seq FROM job_events WHERE at < ? ORDER BY seq DESC LIMIT 1");
  const since = db.prepare("SELECT * FROM job_events WHERE seq > ? ORDER BY seq");
  return {
    /** Inside the caller's transaction. */
    append(events: NewFeedEvent[]): void {
      for (const row of rowsOf(events))
        append.run(row[0]!.at, row.length, row.some((e) => e.to === "failed") ? 1 : 0, encodeChanges(row));
    },
    read(afterSeq: number, limit: number): FeedEvent[] {
      return changesAfter(read.all(rowOf(afterSeq), limit + 1), afterSeq, limit);
    },
    failures(afterSeq: number, upTo: number, limit: number): FeedEvent[] {
      const rows = failures.all(rowOf(afterSeq), rowOf(upTo), limit + 1);
      return changesAfter(rows, afterSeq, Number.MAX_SAFE_INTEGER)
        .filter((e) => e.to === "failed" && e.seq <= upTo)
        .slice(0, limit);
    },
    bounds(): FeedBounds {
      const l = last.get();
      return boundsOf(
        l ? { seq: Number(l.seq), n: Number(l.n) } : null,
        Number(counter.get()?.seq ?? 0),
        Number(pruned()?.seq ?? 0),
      );
    },
    /** Inside the caller's transaction: the rows go, and the edge of what went is recorded. */
    prune(before: number, limit: number): number {
      const gone = prune.all(limit, before).map((r) => Number(r.seq));
      if (gone.length > 0) setPruned(Math.max(...gone));
      return gone.length;
    },
    /** The changes of the last `windowMs` of the feed, by the time of its newest row, in order. */
    recentSince(windowMs: number): FeedEvent[] {
      const newest = latestAt.get();
      if (!newest) return [];
      const from = lastBefore.get(Number(newest.at) - windowMs);
      return since
        .all(from ? Number(from.seq) : 0)
        .flatMap((r) => changesAfter([r], -1, Number.MAX_SAFE_INTEGER));
    },
  };
}
