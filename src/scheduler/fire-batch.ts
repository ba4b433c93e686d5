/**
 * Turns one batch of fires into jobs: overlap decisions (one query for the whole batch), one enqueue, the
 * bookkeeping that lets a restart resume (lastFireTime, held fires), drift and counters. Kept apart from
 * scheduler.ts, which decides *when* a batch runs; this decides *what* each fire becomes.
 *
 * Each job carries (scheduleId, scheduledTime), unique in the store, so a batch that is tried twice (after
 * a store error, by two leaders, after a restart) gets the existing jobs back instead of new ones.
 */
import type { Cron } from "croner";
import type { Logger } from "pino";
import type { Clock } from "../core/clock.ts";
import { BosunError } from "../core/errors.ts";
import type { Engine, EnqueueContext } from "../engine/engine.ts";
import type { JobInput } from "../engine/job-input.ts";
import type { DriftMeter } from "./drift.ts";
import type { Schedule } from "./schedule.ts";
import type { ScheduleStore } from "./schedule-store.ts";

/** A schedule as the scheduler plans it; `held` mirrors its stored held fires (overlap "queue"). */
export interface Entry {
  schedule: Schedule;
  cron: Cron;
  held: number[];
}

/** onTime: its instant came; late: a missed fire that catchUp runs; held: released by overlap "queue". */
export type FireKind = "onTime" | "late" | "held";

export interface Due {
  entry: Entry;
  time: number;
  kind: FireKind;
}

export interface BatchDeps {
  engine: Engine;
  store: ScheduleStore;
  clock: Clock;
  logger: Logger;
  drift: DriftMeter;
}

/** Most fires overlap "queue" holds for one schedule; later ones are dropped (and counted as skipped). */
export const MAX_HELD = 100;

type Outcome = { ok: true; created: boolean; jobId: string } | { ok: false; retry: boolean };

/** Fires the batch; returns the fires to try again later because the store failed. */
export async function fireBatch(d: BatchDeps, fires: Due[]): Promise<Due[]> {
  const { counts } = d.drift;
  const overlapIds = new Set<string>();
  for (const f of fires)
    if (f.kind !== "held" && f.entry.schedule.overlap !== "allow") overlapIds.add(f.entry.schedule.id);
  const active = overlapIds.size > 0 ? await d.store.activeRuns([...overlapIds]) : new Map<string, number>();

  const go: Due[] = [];
  const heldChanged = new Set<Entry>();
  for (const f of fires) {
    const s = f.entry.schedule;
    if (f.kind !== "held" && s.overlap !== "allow") {
      const busy = (active.get(s.id) ?? 0) > 0;
      if (s.overlap === "skip" && busy) {
        counts.skipped++;
        continue;
      }
      // Held fires keep their order: a new fire waits behind older held ones even when nothing runs.
      if (s.overlap === "queue" && (busy || f.entry.held.length > 0)) {
        if (f.entry.held.length < MAX_HELD) {
          f.entry.held.push(f.time);
          counts.held++;
          heldChanged.add(f.entry);
        } else {
          counts.skipped++;
          d.logger.warn({ scheduleId: s.id, time: f.time }, "overlap queue is full: fire dropped");
        }
        continue;
      }
      // A second fire of the same schedule in this batch (catchUp "all") sees the first as running.
      active.set(s.id, (active.get(s.id) ?? 0) + 1);
    }
    go.push(f);
  }

  const outcomes = await enqueue(d, go);
  const enqueuedAt = d.clock.now();
  const retry: Due[] = [];
  const madeJob = new Set<Due>();
  for (let i = 0; i < go.length; i++) {
    const f = go[i]!;
    const o = outcomes[i]!;
    if (o.ok) madeJob.add(f);
    if (!o.ok) {
      if (o.retry) retry.push(f);
      else counts.failed++;
    } else if (!o.created) counts.duplicate++;
    else if (f.kind === "onTime") {
      counts.fired++;
      d.drift.enqueue.add(enqueuedAt - f.time);
    } else {
      if (f.kind === "late") counts.caughtUp++;
      d.drift.markLate(o.jobId);
    }
  }
  // A fire that made a job is remembered by the job (see ScheduleStore.setLastFires); one to retry is not
  // handled yet.
  const retried = new Set(retry);
  await d.store.setLastFires(
    fires
      .filter((f) => !madeJob.has(f) && !retried.has(f))
      .map((f) => ({ id: f.entry.schedule.id, time: f.time })),
  );
  if (heldChanged.size > 0)
    await d.store.setHeldFires([...heldChanged].map((e) => ({ id: e.schedule.id, times: [...e.held] })));
  return retry;
}

/**
 * A fire whose instant is still ahead (the scheduler starts large batches early) is written as a job due
 * at that instant: the dispatcher makes it claimable at exactly its second.
 */
function toEntry(f: Due, now: number): { input: JobInput; ctx: EnqueueContext } {
  const s = f.entry.schedule;
  const input: JobInput = f.time > now ? { ...s.job, runAt: new Date(f.time).toISOString() } : s.job;
  return { input, ctx: { owner: s.owner, scheduleId: s.id, scheduledTime: f.time } };
}

async function enqueue(d: BatchDeps, go: Due[]): Promise<Outcome[]> {
  if (go.length === 0) return [];
  const now = d.clock.now();
  const entries = go.map((f) => toEntry(f, now));
  try {
    const out = await d.engine.enqueueEntries(entries);
    return out.map((o) => ({ ok: true, created: o.created, jobId: o.job.id }));
  } catch (err) {
    if (!(err instanceof BosunError)) {
      d.logger.error({ err: String(err), fires: go.length }, "could not enqueue schedule fires; will retry");
      return go.map(() => ({ ok: false, retry: true }));
    }
  }
  // One invalid job (a handler type removed since, a payload its schema now rejects) must not sink the
  // other fires of the batch: one by one, which only happens when something is wrong.
  const out: Outcome[] = [];
  for (let i = 0; i < entries.length; i++) {
    try {
      const [o] = await d.engine.enqueueEntries([entries[i]!]);
      out.push({ ok: true, created: o!.created, jobId: o!.job.id });
    } catch (err) {
      const retry = !(err instanceof BosunError);
      d.logger.error(
        { scheduleId: go[i]!.entry.schedule.id, time: go[i]!.time, err: String(err) },
        retry
          ? "could not enqueue a schedule fire; will retry"
          : "schedule fire rejected: its job is invalid",
      );
      out.push({ ok: false, retry });
    }
  }
  return out;
}
