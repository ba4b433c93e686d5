/**
 * Schedule management for the API and CLI: validation (cron, time zone, job type and payload), defaults,
 * and announcing every change on the bus so the leader's scheduler re-plans it, wherever it runs.
 */

import type { Clock } from "../core/clock.ts";
import { BosunError } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import type { Engine } from "../engine/engine.ts";
import {
  DEFAULT_CATCH_UP_WINDOW_MS,
  nextFires,
  parseCron,
  type Schedule,
  type ScheduleInput,
  type SchedulePatch,
} from "./schedule.ts";
import type { ScheduleStore } from "./schedule-store.ts";

const time = (iso: string | undefined): number | null => (iso === undefined ? null : Date.parse(iso));

export class ScheduleService {
  readonly #engine: Engine;
  readonly #store: ScheduleStore;
  readonly #clock: Clock;

  constructor(engine: Engine, store: ScheduleStore, clock: Clock) {
    this.#engine = engine;
    this.#store = store;
    this.#clock = clock;
  }

  #validate(s: Schedule): void {
    parseCron(s.cron, s.timezone);
    this.#engine.catalog.check(s.job.type, s.job.payload ?? null, "/job");
    if (s.startAt !== null && s.endAt !== null && s.endAt <= s.startAt)
      throw new BosunError("VALIDATION_FAILED", "endAt must be after startAt");
  }

  async create(input: ScheduleInput, owner: string): Promise<Schedule> {
    const now = this.#clock.now();
    const s: Schedule = {
      id: newId(),
      name: input.name ?? null,
      cron: input.cron,
      timezone: input.timezone ?? "UTC",
      job: input.job,
      overlap: input.overlap ?? "allow",
      catchUp: input.catchUp ?? "none",
      catchUpWindowMs: input.catchUpWindowMs ?? DEFAULT_CATCH_UP_WINDOW_MS,
      startAt: time(input.startAt),
      endAt: time(input.endAt),
      paused: input.paused ?? false,
      alert: input.alert ?? null,
      owner,
      createdAt: now,
      updatedAt: now,
      lastFireTime: null,
    };
    this.#validate(s);
    const created = await this.#store.create(s);
    this.#changed(created.id);
    return created;
  }

  async get(id: string): Promise<Schedule> {
    const s = await this.#store.get(id);
    if (!s) throw new BosunError("SCHEDULE_NOT_FOUND", `No schedule has the id ${id}`);
    return s;
  }

  list(limit: number, afterId?: string): Promise<Schedule[]> {
    return this.#store.list({ limit, afterId });
  }

  async update(id: string, patch: SchedulePatch): Promise<Schedule> {
    const cur = await this.get(id);
    const next: Schedule = {
      ...cur,
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.cron !== undefined ? { cron: patch.cron } : {}),
      ...(patch.timezone !== undefined ? { timezone: patch.timezone } : {}),
      ...(patch.job !== undefined ? { job: patch.job } : {}),
      ...(patch.overlap !== undefined ? { overlap: patch.overlap } : {}),
      ...(patch.catchUp !== undefined ? { catchUp: patch.catchUp } : {}),
      ...(patch.catchUpWindowMs !== undefined ? { catchUpWindowMs: patch.catchUpWindowMs } : {}),
      ...(patch.startAt !== undefined ? { startAt: time(patch.startAt) } : {}),
      ...(patch.endAt !== undefined ? { endAt: time(patch.endAt) } : {}),
      ...(patch.paused !== undefined ? { paused: patch.paused } : {}),
      ...(patch.alert !== undefined ? { alert: patch.alert } : {}),
      updatedAt: this.#clock.now(),
    };
    // A new expression starts from now: fires of the old one are not "missed" by the new one.
    if (patch.cron !== undefined || patch.timezone !== undefined) next.lastFireTime = this.#clock.now();
    this.#validate(next);
    const saved = await this.#store.update(next);
    this.#changed(id);
    return saved;
  }

  async setPaused(id: string, paused: boolean): Promise<Schedule> {
    const cur = await this.get(id);
    // Resuming does not replay the fires skipped while paused.
    const saved = await this.#store.update({
      ...cur,
      paused,
      updatedAt: this.#clock.now(),
      lastFireTime: paused ? cur.lastFireTime : Math.max(cur.lastFireTime ?? 0, this.#clock.now()),
    });
    this.#changed(id);
    return saved;
  }

  async delete(id: string): Promise<void> {
    if (!(await this.#store.delete(id)))
      throw new BosunError("SCHEDULE_NOT_FOUND", `No schedule has the id ${id}`);
    this.#changed(id);
  }

  /** Runs the schedule's job now, outside its cron: listed among its runs, with no scheduledTime. */
  async trigger(id: string) {
    const s = await this.get(id);
    const [outcome] = await this.#engine.enqueueEntries([
      { input: { ...s.job }, ctx: { owner: s.owner, scheduleId: s.id, scheduledTime: null } },
    ]);
    return outcome!.job;
  }

  nextRuns(s: Schedule, n = 5): number[] {
    if (s.paused) return [];
    return nextFires(parseCron(s.cron, s.timezone), s, Math.max(this.#clock.now(), s.lastFireTime ?? 0), n);
  }

  #changed(id: string): void {
    this.#engine.bus.publish({ type: "schedule", id });
  }
}
