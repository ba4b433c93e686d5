/**
 * The arithmetic of planning, kept pure so it is tested without timers: which fires a schedule owes when
 * it is (re)planned — recent ones that are merely due, missed ones that catchUp selects — and how early a
 * large batch of fires must start (the lead time, see scheduler.ts).
 */
import type { Cron } from "croner";
import { firesBetween, nextFire, type Schedule } from "./schedule.ts";

/** Most missed fires replayed for one schedule with catchUp "all". */
export const MAX_CATCH_UP_FIRES = 1000;

export interface Plan {
  /** Missed fires that catchUp runs now, oldest first. */
  late: number[];
  /** Fires within the grace period before now: due, only a little late. */
  recent: number[];
  /** The next fire after now (and after the last one handled), or null when the schedule has ended. */
  next: number | null;
}

/**
 * Fires are owed after the schedule's lastFireTime (or its creation). Those in (now − graceMs, now] are
 * due — a change on its way to the leader, not downtime; older ones were missed and follow catchUp
 * within catchUpWindowMs.
 */
export function planFires(cron: Cron, s: Schedule, now: number, graceMs: number): Plan {
  const from = s.lastFireTime ?? s.createdAt;
  const plan: Plan = { late: [], recent: [], next: nextFire(cron, s, Math.max(now, from)) };
  if (now <= from) return plan;
  plan.recent = firesBetween(cron, s, Math.max(from, now - graceMs), now, MAX_CATCH_UP_FIRES);
  if (s.catchUp !== "none") {
    const missedUpTo = plan.recent.length > 0 ? plan.recent[0]! - 1 : now;
    const after = Math.max(from, now - s.catchUpWindowMs);
    plan.late = firesBetween(cron, s, after, missedUpTo, s.catchUp === "all" ? MAX_CATCH_UP_FIRES : 1);
  }
  return plan;
}

/**
 * How many ms before its instant a batch of `count` fires starts: twice its expected duration plus 25 ms
 * (room for a WAL checkpoint or a GC pause landing in the batch — measured seconds that finished only
 * 40–90 ms early with a 1.5× margin), at most `maxLeadMs`; 0 when the batch is quick anyway (under 2 ms),
 * so small schedules fire at their instant and their jobs are ready at once.
 */
export function leadTime(count: number, msPerFire: number, maxLeadMs: number): number {
  const expected = count * msPerFire;
  return expected < 2 || maxLeadMs <= 0 ? 0 : Math.min(maxLeadMs, Math.ceil(expected * 2) + 25);
}

/** Changes after which a schedule fires from now: the old timing's fires are not "missed" by the new one. */
export function changedTiming(a: Schedule, b: Schedule): boolean {
  return a.cron !== b.cron || a.timezone !== b.timezone || a.startAt !== b.startAt || a.endAt !== b.endAt;
}
