/**
 * Schedule management for the API, the CLI and the SDK: validation (cron, time zone, job type and payload),
 * defaults, and announcing every change on the bus so the leader's scheduler re-plans it, wherever it runs.
 * Every change (and a delete) discards the fires already written ahead of their instant
 * (ScheduleStore.discardStaged), so it takes effect at once; the leader re-plans and writes them anew.
 * A change made for a caller (ScheduleAccess) carries its audit entry down to the store's transaction.
 */
import type { Logger } from "pino";
import type { Clock } from "../core/clock.ts";
import { BosunError } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import type { Job } from "../core/job.ts";
import type { Engine } from "../engine/engine.ts";
import { assertPayloadSize } from "../engine/job-input.ts";
import type { AuditEntry } from "../store/identity-store.ts";
import { changedTiming } from "./plan.ts";
import {
  assertFires,
  canonicalTimezone,
  DEFAULT_CATCH_UP_WINDOW_MS,
  nextFires,
  parseCron,
  type Schedule,
  type ScheduleInput,
  type SchedulePatch,
} from "./schedule.ts";
import type { ScheduleRun, ScheduleStore } from "./schedule-store.ts";

const time = (iso: string | undefined): number | null => (iso === undefined ? null : Date.parse(iso));

export class ScheduleService {
  readonly #engine: Engine;
  readonly #store: ScheduleStore;
  readonly clock: Clock;
  readonly #logger: Logger | undefined;

  constructor(engine: Engine, store: ScheduleStore, clock: Clock, logger?: Logger) {
    this.#engine = engine;
    this.#store = store;
    this.clock = clock;
    this.#logger = logger;
  }

  /** Checks a schedule as a whole; returns it with its time zone in canonical form. */
  #validate(s: Schedule): Schedule {
    const timezone = canonicalTimezone(s.timezone);
    assertFires(parseCron(s.cron, timezone), s.cron, this.clock.now());
    assertPayloadSize(s.job.payload, this.#engine.maxPayloadBytes, "The schedule's job payload");
    this.#engine.catalog.check(s.job.type, s.job.payload ?? null, "/job");
    for (const [field, t] of [
      ["startAt", s.startAt],
      ["endAt", s.endAt],
    ] as const)
      if (t !== null && Number.isNaN(t)) throw new BosunError("VALIDATION_FAILED", `${field} is not a date`);
    if (s.startAt !== null && s.endAt !== null && s.endAt <= s.startAt)
      throw new BosunError("VALIDATION_FAILED", "endAt must be after startAt");
    return { ...s, timezone };
  }

  /** `audit`: the entry for the new schedule (its id is made here). */
  async create(input: ScheduleInput, owner: string, audit?: (s: Schedule) => AuditEntry): Promise<Schedule> {
    const now = this.clock.now();
    const s = this.#validate({
      id: newId(),
      name: input.name ?? null,
      cron: input.cron.trim(),
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
    });
    const created = await this.#store.create(s, audit?.(s));
    this.#changed(created.id);
    return created;
  }

  async get(id: string): Promise<Schedule> {
    const s = await this.#store.get(id);
    if (!s) throw new BosunError("SCHEDULE_NOT_FOUND", `No schedule has the id ${id}`);
    return s;
  }

  list(limit: number, afterId?: string, owner?: string): Promise<Schedule[]> {
    return this.#store.list({ limit, afterId, owner });
  }

  async update(id: string, patch: SchedulePatch, audit?: AuditEntry): Promise<Schedule> {
    const cur = await this.get(id);
    const now = this.clock.now();
    const next = this.#validate({
      ...cur,
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.cron !== undefined ? { cron: patch.cron.trim() } : {}),
      ...(patch.timezone !== undefined ? { timezone: patch.timezone } : {}),
      ...(patch.job !== undefined ? { job: patch.job } : {}),
      ...(patch.overlap !== undefined ? { overlap: patch.overlap } : {}),
      ...(patch.catchUp !== undefined ? { catchUp: patch.catchUp } : {}),
      ...(patch.catchUpWindowMs !== undefined ? { catchUpWindowMs: patch.catchUpWindowMs } : {}),
      ...(patch.startAt !== undefined ? { startAt: time(patch.startAt) } : {}),
      ...(patch.endAt !== undefined ? { endAt: time(patch.endAt) } : {}),
      ...(patch.paused !== undefined ? { paused: patch.paused } : {}),
      ...(patch.alert !== undefined ? { alert: patch.alert } : {}),
      updatedAt: now,
    });
    // A new timing starts from now (fires of the old one are not "missed" by the new one); so does a
    // resume (the fires skipped while paused are not replayed). Otherwise null leaves the recorded value
    // alone: cur.lastFireTime as read counts the fires staged ahead, and recording that would make the
    // schedule skip them once they are discarded below.
    next.lastFireTime = changedTiming(cur, next) || (cur.paused && !next.paused) ? now : null;
    await this.#store.update(next, audit);
    await this.#discardStaged(id, now);
    this.#changed(id);
    return this.get(id); // read after the discard, so lastFireTime no longer counts those fires
  }

  setPaused(id: string, paused: boolean, audit?: AuditEntry): Promise<Schedule> {
    return this.update(id, { paused }, audit);
  }

  async delete(id: string, audit?: AuditEntry): Promise<void> {
    if (!(await this.#store.delete(id, audit)))
      throw new BosunError("SCHEDULE_NOT_FOUND", `No schedule has the id ${id}`);
    await this.#discardStaged(id, this.clock.now());
    this.#changed(id);
  }

  /** Runs the schedule's job now, outside its cron: listed among its runs, with no scheduledTime. */
  async trigger(id: string, audit?: AuditEntry): Promise<Job> {
    const s = await this.get(id);
    const [outcome] = await this.#engine.enqueueEntries(
      [{ input: s.job, ctx: { owner: s.owner, scheduleId: s.id, scheduledTime: null } }],
      audit && (() => audit),
    );
    return outcome!.job;
  }

  /** The jobs the schedule spawned, newest first (404 for an unknown schedule). */
  async runs(id: string, opts: { limit: number; beforeSeq?: number }): Promise<ScheduleRun[]> {
    await this.get(id);
    return this.#store.runs(id, opts);
  }

  /** The next `n` fire times from now (none while paused). */
  nextRuns(s: Schedule, n = 5): number[] {
    if (s.paused) return [];
    try {
      return nextFires(parseCron(s.cron, s.timezone), s, this.clock.now(), n);
    } catch {
      return []; // stored before a stricter check; the scheduler logs it
    }
  }

  /**
   * Whatever changed (timing, pause, job, overlap), the fires written ahead were made by the old
   * definition. Discarding them here makes the change visible at once even while the leader is busy; the
   * leader discards again when it re-plans (it may have staged more meanwhile).
   */
  async #discardStaged(id: string, now: number): Promise<void> {
    try {
      await this.#store.discardStaged([id], now);
    } catch (err) {
      this.#logger?.warn({ scheduleId: id, err: String(err) }, "could not discard staged fires");
    }
  }

  #changed(id: string): void {
    this.#engine.bus.publish({ type: "schedule", id });
  }
}
