/**
 * Enqueue on SQLite: one INSERT per job inside the caller's transaction, `ON CONFLICT DO NOTHING` for
 * the idempotency key and the schedule fire; a conflict answers with the job that exists, read through
 * the `jobs` view (a held one is running) (PostgreSQL's twin: postgres/enqueue.ts).
 */
import type { NewJob } from "../../core/job.ts";
import { change, type NewFeedEvent } from "../feed.ts";
import type { EnqueueOutcome } from "../store.ts";
import { jsonOrNull, toJob } from "./rows.ts";
import type { SoftClaims } from "./soft-claims.ts";
import type { Statements } from "./statements.ts";

export function enqueueJobs(
  s: Statements,
  held: SoftClaims,
  jobs: NewJob[],
  now: number,
  feed: NewFeedEvent[],
): EnqueueOutcome[] {
  return jobs.map((j) => {
    const status = j.runAt > now ? "scheduled" : "queued";
    const row = s.insertJob.get(
      j.id,
      j.queue,
      j.type,
      JSON.stringify(j.payload ?? null),
      status,
      j.priority,
      j.maxAttempts,
      j.maxAttempts,
      JSON.stringify(j.backoff),
      j.timeoutMs,
      j.runAt,
      now,
      now,
      j.idempotencyKey,
      j.owner,
      jsonOrNull(j.tags),
      jsonOrNull(j.constraints),
      j.scheduleId,
      j.scheduledTime,
    );
    if (row) {
      const job = toJob(row);
      // A higher priority (or a reused seq) lands ahead of where claims resume: ready-floor.ts.
      if (status === "queued") held.floor.queued(job.priority, job.seq);
      feed.push(change("enqueue", null, job.status, job, now));
      return { job, created: true };
    }
    const existing =
      (j.idempotencyKey !== null ? s.byIdempotencyKey.get(j.idempotencyKey) : undefined) ??
      (j.scheduleId !== null ? s.byFire.get(j.scheduleId, j.scheduledTime) : undefined);
    if (!existing) throw new Error(`enqueue conflict without an existing row for job ${j.id}`);
    return { job: toJob(existing), created: false };
  });
}
