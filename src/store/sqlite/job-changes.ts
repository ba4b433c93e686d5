/**
 * The manual changes of a job on SQLite, cancel and retry, inside the caller's transaction (the store adds
 * the feed rows and the audit entry; PostgreSQL's twin: postgres/job-queries.ts). Both read through the
 * `jobs` view, so a held claim is a running job here.
 */
import type { JobError, JobStatus } from "../../core/job.ts";
import { change, type NewFeedEvent } from "../feed.ts";
import type { ChangeOutcome } from "../store.ts";
import { insertAttempt } from "./fail.ts";
import type { Holding } from "./holding.ts";
import { toJob, toJobState } from "./rows.ts";
import type { Statements } from "./statements.ts";

/** A change of job `id` at `now`; its feed rows go to `feed`, which the store appends last. */
type JobChange = (
  s: Statements,
  holding: Holding,
  id: string,
  now: number,
  feed: NewFeedEvent[],
) => ChangeOutcome;

export const cancelJob: JobChange = (s, holding, id, now, feed) => {
  // A held claim is written first, so the job is cancelled as the running job it is.
  const held = holding.held.get(id);
  if (held) holding.harden([held]);
  const row = s.byId.get(id);
  if (!row) return { ok: false, reason: "not_found" };
  const job = toJob(row);
  if (job.status === "completed" || job.status === "failed" || job.status === "cancelled")
    return { ok: false, reason: "invalid_state", job };
  const error: JobError = { code: "CANCELLED", message: "The job was cancelled" };
  const updated = toJob(s.cancelOne.get(JSON.stringify(error), now, now, id)!);
  if (job.status === "running")
    insertAttempt(s, toJobState(row), job.attempts, "cancelled", now, null, null, error);
  feed.push(change("cancel", job.status, "cancelled", updated, now, "CANCELLED"));
  return { ok: true, job: updated };
};

export const retryJob: JobChange = (s, holding, id, now, feed) => {
  const row = s.byId.get(id);
  if (!row) return { ok: false, reason: "not_found" };
  if (row.status !== "failed" && row.status !== "cancelled")
    return { ok: false, reason: "invalid_state", job: toJob(row) };
  const updated = toJob(s.retryOne.get(now, now, id)!);
  feed.push(change("retry", row.status as JobStatus, "queued", updated, now));
  // Queued again, maybe ahead of where claims resume (ready-floor.ts).
  holding.held.floor.reset();
  return { ok: true, job: updated };
};
