/**
 * Completions on SQLite, inside the caller's transaction. A held claim (soft-claims.ts) goes from
 * `queued` to `completed` in one write, one prepared statement per row (measured 40% cheaper per row
 * than a JSON batch with RETURNING), and its new state is built from what the claim read. Written leases
 * go from `running` in one set-based statement. The caller forgets the held claims after the commit.
 */
import { change, type NewFeedEvent } from "../feed.ts";
import type { CompleteInput, FinishOutcome } from "../store.ts";
import { toJobState } from "./rows.ts";
import { completedState, type SoftClaims } from "./soft-claims.ts";
import type { Statements } from "./statements.ts";

export function completeJobs(
  s: Statements,
  held: SoftClaims,
  items: CompleteInput[],
  now: number,
  feed: NewFeedEvent[],
): FinishOutcome[] {
  const out: FinishOutcome[] = new Array(items.length);
  const hard: unknown[] = [];
  const hardAt: number[] = [];
  items.forEach((c, i) => {
    const result = c.result === undefined ? null : c.result;
    const claim = held.match(c.jobId, c.lease, c.workerId);
    if (!claim) {
      hard.push([c.jobId, c.lease, result, c.exitCode ?? null, c.httpStatus ?? null, c.workerId]);
      hardAt.push(i);
      return;
    }
    const { changes } = s.completeSoft.run(
      c.workerId,
      claim.startedAt,
      c.resultJson ?? JSON.stringify(result),
      c.exitCode ?? null,
      c.httpStatus ?? null,
      now,
      now,
      claim.seq,
    );
    out[i] = changes > 0 ? { ok: true, job: completedState(claim, now) } : { ok: false, jobId: c.jobId };
  });
  if (hard.length > 0) {
    const byId = new Map(
      s.completeMany.all(now, now, JSON.stringify(hard)).map((r) => [r.id as string, toJobState(r)]),
    );
    for (const i of hardAt) {
      const job = byId.get(items[i]!.jobId);
      // Once per row: the same lease twice in a batch completes once, the second is stale.
      byId.delete(items[i]!.jobId);
      out[i] = job ? { ok: true, job } : { ok: false, jobId: items[i]!.jobId };
    }
  }
  for (const o of out) if (o.ok) feed.push(change("complete", "running", "completed", o.job, now));
  return out;
}
