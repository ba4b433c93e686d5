/**
 * Jobs a schedule wrote ahead of their instant (scheduler.ts, lead time) are "staged": status scheduled,
 * never attempted, scheduledTime still in the future. Pausing, deleting or re-timing the schedule cancels
 * them, so a change takes effect at once even for fires already written. Both the API node (at the change)
 * and the leader (when it re-plans, in case it staged a fire meanwhile) call this; cancelling twice is
 * harmless.
 *
 * A staged fire that the new timing makes too (a later endAt, a cron that still fires that second) is
 * kept: cancelling it would lose the fire, because its (scheduleId, scheduledTime) is taken for good and
 * the re-planned scheduler would get the cancelled job back.
 */
import type { Logger } from "pino";
import type { Engine } from "../engine/engine.ts";
import { nextFire, parseCron, type Schedule } from "./schedule.ts";

/** Staged fires per schedule are few (lead time ≤ 2 s); this bounds the look-up all the same. */
const LIMIT = 100;

export interface CancelStaged {
  engine: Engine;
  scheduleId: string;
  now: number;
  logger: Logger;
  /** The schedule as it is now; null (deleted, paused) cancels every staged fire. */
  current: Schedule | null;
}

export async function cancelStaged(o: CancelStaged): Promise<number> {
  const jobs = await o.engine.list({ scheduleId: o.scheduleId, status: ["scheduled"], limit: LIMIT });
  const firesAt = stillFires(o.current, o.logger);
  let cancelled = 0;
  for (const j of jobs) {
    if (j.attempts > 0 || j.scheduledTime === null || j.scheduledTime <= o.now) continue;
    if (firesAt(j.scheduledTime)) continue;
    try {
      await o.engine.cancel(j.id);
      cancelled++;
    } catch (err) {
      // Started or finished meanwhile: it fired, nothing to undo.
      o.logger.debug({ jobId: j.id, err: String(err) }, "staged fire not cancelled");
    }
  }
  return cancelled;
}

/** Whether the schedule, as it is now, fires at a given instant. */
function stillFires(s: Schedule | null, logger: Logger): (time: number) => boolean {
  if (s === null || s.paused) return () => false;
  try {
    const cron = parseCron(s.cron, s.timezone);
    return (time) => nextFire(cron, s, time - 1) === time;
  } catch (err) {
    logger.warn({ scheduleId: s.id, err: String(err) }, "schedule cannot be planned; staged fires cancelled");
    return () => false;
  }
}
