/**
 * What a job's failure turns into: one outbox row per distinct target (global, the job's queue, its
 * schedule), all with the same body — the job, its schedule, its error and every attempt — so each
 * target receives the same bytes, signed with its own secret.
 */
import { jobView } from "../api/views.ts";
import { newId } from "../core/ids.ts";
import type { Alert, ScheduleStore } from "../scheduler/schedule-store.ts";
import type { FeedEvent } from "../store/feed.ts";
import type { Store } from "../store/store.ts";

export interface AlertTargetConfig {
  webhookUrl: string;
  secret?: string;
}

export interface AlertTargets {
  global: AlertTargetConfig | null;
  perQueue: Record<string, AlertTargetConfig>;
}

/**
 * The alerts of the failures among `events` (changes with `to: "failed"`), as of now. A job that no
 * longer exists is skipped (there is nothing left to describe); a job that failed twice (retried by hand
 * in between) yields rows for both, and the outbox keeps the first per (job, url).
 */
export async function alertsFor(
  events: FeedEvent[],
  o: { store: Store; schedules: ScheduleStore; targets: AlertTargets; now: number },
): Promise<Alert[]> {
  const out: Alert[] = [];
  const failed = events.filter((e) => e.to === "failed");
  if (failed.length === 0) return out;
  // One read for the page's jobs; attempts stay one read per job (no store call takes a list).
  const jobs = new Map(
    (await o.store.getJobs([...new Set(failed.map((e) => e.jobId))])).map((j) => [j.id, j]),
  );
  const schedules = new Map<string, Awaited<ReturnType<ScheduleStore["get"]>>>();
  for (const e of failed) {
    let schedule = null;
    if (e.scheduleId) {
      if (!schedules.has(e.scheduleId)) schedules.set(e.scheduleId, await o.schedules.get(e.scheduleId));
      schedule = schedules.get(e.scheduleId) ?? null;
    }
    const targets = new Map<string, AlertTargetConfig>();
    for (const t of [o.targets.global, o.targets.perQueue[e.queue] ?? null, schedule?.alert ?? null])
      if (t) targets.set(t.webhookUrl, t);
    if (targets.size === 0) continue;
    const job = jobs.get(e.jobId);
    if (!job) continue;
    const attempts = await o.store.listAttempts(e.jobId);
    const body = JSON.stringify({
      event: "job.failed",
      job: jobView(job),
      schedule: schedule
        ? { id: schedule.id, name: schedule.name, cron: schedule.cron, timezone: schedule.timezone }
        : null,
      error: job.error,
      attempts: attempts.map((a) => ({
        attempt: a.attempt,
        status: a.status,
        startedAt: new Date(a.startedAt).toISOString(),
        finishedAt: new Date(a.finishedAt).toISOString(),
        durationMs: a.durationMs,
        httpStatus: a.httpStatus,
        exitCode: a.exitCode,
        error: a.error,
      })),
    });
    for (const t of targets.values())
      out.push({
        id: newId(),
        jobId: job.id,
        scheduleId: job.scheduleId,
        url: t.webhookUrl,
        secret: t.secret ?? null,
        body,
        status: "pending",
        attempts: 0,
        nextAttemptAt: o.now,
        lastError: null,
        lastStatus: null,
        createdAt: o.now,
        deliveredAt: null,
      });
  }
  return out;
}
