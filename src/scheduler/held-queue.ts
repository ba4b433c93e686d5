/**
 * overlap "queue" on the leader: which schedules hold fires, whether a finished job frees one of them,
 * and which held fires may go now. Kept apart from scheduler.ts (when to fire) and fire-batch.ts (what a
 * fire becomes, including holding it). Such schedules are usually few, so each check looks at them all.
 */
import { isTerminal, type JobStatus } from "../core/job.ts";
import type { Due, Entry } from "./fire-batch.ts";
import type { ScheduleStore } from "./schedule-store.ts";

export class HeldQueue {
  /** Ids of the planned schedules with overlap "queue". */
  readonly #ids = new Set<string>();

  get size(): number {
    return this.#ids.size;
  }

  track(entry: Entry): void {
    if (entry.schedule.overlap === "queue") this.#ids.add(entry.schedule.id);
  }

  forget(id: string): void {
    this.#ids.delete(id);
  }

  clear(): void {
    this.#ids.clear();
  }

  /** Whether one of these jobs was a run of a queueing schedule and has ended (its next held fire may go). */
  freedBy(jobs: readonly { scheduleId: string | null; status: JobStatus }[]): boolean {
    if (this.#ids.size === 0) return false;
    return jobs.some((j) => j.scheduleId !== null && this.#ids.has(j.scheduleId) && isTerminal(j.status));
  }

  /** The current entries of queueing schedules that hold at least one fire. */
  holding(entries: ReadonlyMap<string, Entry>): Entry[] {
    const out: Entry[] = [];
    for (const id of this.#ids) {
      const e = entries.get(id);
      if (e && e.held.length > 0) out.push(e);
    }
    return out;
  }
}

/**
 * Of the schedules holding fires, those whose runs have all ended give up their oldest held fire (one
 * activeRuns query for all of them). The caller fires them and then persists the shorter lists: a crash in
 * between releases the same fire again, and its (scheduleId, scheduledTime) makes that harmless.
 */
export async function takeReleasable(store: ScheduleStore, waiting: Entry[]): Promise<Due[]> {
  if (waiting.length === 0) return [];
  const active = await store.activeRuns(waiting.map((e) => e.schedule.id));
  return waiting
    .filter((e) => !active.has(e.schedule.id))
    .map((entry): Due => ({ entry, time: entry.held.shift()!, kind: "held" }));
}
