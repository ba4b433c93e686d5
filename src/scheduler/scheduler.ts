/**
 * Fires schedules on the leader. One timer, armed for the top of a heap of next fire times — never a scan
 * of every schedule each second. Fires due together are enqueued in one batch; each carries (scheduleId,
 * scheduledTime), unique in the store, so a restart, a leader change or a clock jump can at worst try a
 * fire again and get the existing job back. Missed fires (downtime, a stalled process) follow the
 * schedule's catchUp policy within catchUpWindowMs; overlap decides what happens while a run is active.
 */
import type { Cron } from "croner";
import type { Logger } from "pino";
import type { Clock } from "../core/clock.ts";
import type { Engine } from "../engine/engine.ts";
import type { JobInput } from "../engine/job-input.ts";
import type { DriftMeter } from "./drift.ts";
import { FireHeap } from "./fire-heap.ts";
import { nextFire, parseCron, type Schedule } from "./schedule.ts";
import type { ScheduleStore } from "./schedule-store.ts";

export interface SchedulerOptions {
  engine: Engine;
  store: ScheduleStore;
  clock: Clock;
  logger: Logger;
  drift: DriftMeter;
}

/** Most missed fires replayed for one schedule with catchUp "all". */
const MAX_CATCH_UP_FIRES = 1000;
/**
 * A fire later than this is treated as missed (process suspended, clock jumped) and follows catchUp.
 * Generous on purpose: a busy tick (10,000 fires) must not turn the next fires into "missed" ones.
 */
const LATE_MS = 10_000;
const ACTIVE = ["scheduled", "queued", "running"] as const;

interface Entry {
  schedule: Schedule;
  cron: Cron;
}

export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #heap = new FireHeap();
  /** overlap "queue": fire times waiting for the previous run to end, per schedule. */
  readonly #waiting = new Map<string, number[]>();
  readonly #unsubscribe: (() => void)[] = [];
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #ticking: Promise<void> | null = null;

  constructor(opts: SchedulerOptions) {
    this.#o = opts;
  }

  get size(): number {
    return this.#entries.size;
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    const { bus } = this.#o.engine;
    this.#unsubscribe.push(
      bus.subscribe("schedule", (e) => void this.refresh(e.id)),
      bus.subscribe("jobs", (e) => {
        for (const j of e.jobs)
          if (
            j.scheduleId &&
            this.#waiting.has(j.scheduleId) &&
            ["completed", "failed", "cancelled"].includes(j.status)
          )
            void this.#releaseWaiting(j.scheduleId);
      }),
    );
    const now = this.#o.clock.now();
    const due: { entry: Entry; time: number }[] = [];
    for (const s of await this.#o.store.listActive()) {
      if (!this.#running) return;
      due.push(...this.#plan(s, now));
    }
    await this.#fire(due);
    this.#arm();
    this.#o.logger.info({ schedules: this.#entries.size }, "scheduler started");
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const u of this.#unsubscribe.splice(0)) u();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#ticking;
    this.#heap.clear();
    this.#entries.clear();
    this.#waiting.clear();
  }

  /** Re-reads one schedule (created, changed, paused, deleted) and re-plans it. */
  async refresh(id: string): Promise<void> {
    if (!this.#running) return;
    this.#heap.remove(id);
    this.#entries.delete(id);
    const s = await this.#o.store.get(id);
    if (s && !s.paused && this.#running) await this.#fire(this.#plan(s, this.#o.clock.now()));
    this.#arm();
  }

  /** Puts the schedule's next fire on the heap; returns the missed fires that catchUp says to run now. */
  #plan(s: Schedule, now: number): { entry: Entry; time: number }[] {
    let cron: Cron;
    try {
      cron = parseCron(s.cron, s.timezone);
    } catch (err) {
      this.#o.logger.error({ scheduleId: s.id, err: String(err) }, "schedule has an invalid cron expression");
      return [];
    }
    const entry = { schedule: s, cron };
    this.#entries.set(s.id, entry);
    const from = s.lastFireTime ?? s.createdAt;
    const missed: number[] = [];
    if (s.catchUp !== "none") {
      const windowStart = Math.max(from, now - s.catchUpWindowMs);
      for (let t = nextFire(cron, s, windowStart - 1); t !== null && t <= now; t = nextFire(cron, s, t)) {
        if (t <= from) continue;
        missed.push(t);
        if (missed.length > MAX_CATCH_UP_FIRES) missed.shift();
      }
    }
    const run = s.catchUp === "all" ? missed : missed.slice(-1);
    const next = nextFire(cron, s, now);
    if (next !== null) this.#heap.push({ time: next, scheduleId: s.id });
    return run.map((time) => ({ entry, time }));
  }

  #arm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const top = this.#heap.peek();
    if (!this.#running || !top) return;
    const delay = Math.max(0, top.time - this.#o.clock.now());
    // Long delays are re-checked every minute (clock changes, suspended machines).
    this.#timer = setTimeout(
      () => {
        this.#ticking = this.#tick().finally(() => {
          this.#ticking = null;
        });
      },
      Math.min(delay, 60_000),
    );
  }

  async #tick(): Promise<void> {
    const now = this.#o.clock.now();
    const due: { entry: Entry; time: number }[] = [];
    // Catch-up fires come from #plan, which already put their schedule's next fire on the heap.
    const caughtUp: { entry: Entry; time: number }[] = [];
    for (let top = this.#heap.peek(); top && top.time <= now; top = this.#heap.peek()) {
      this.#heap.pop();
      const entry = this.#entries.get(top.scheduleId);
      if (!entry) continue;
      if (now - top.time > LATE_MS) {
        // Far behind: let catchUp decide which of the missed fires still run, and move on from now.
        this.#entries.delete(top.scheduleId);
        caughtUp.push(...this.#plan({ ...entry.schedule, lastFireTime: top.time - 1 }, now));
        continue;
      }
      due.push({ entry, time: top.time });
    }
    try {
      await this.#fire([...due, ...caughtUp]);
    } catch (err) {
      this.#o.logger.error({ err }, "firing schedules failed");
    }
    // Next fire times are computed after the fires went out: that work does not add to their drift.
    for (const { entry, time } of due) {
      if (this.#entries.get(entry.schedule.id) !== entry) continue;
      const next = nextFire(entry.cron, entry.schedule, time);
      if (next !== null) this.#heap.push({ time: next, scheduleId: entry.schedule.id });
    }
    this.#arm();
  }

  /** Enqueues one job per fire (one batch), honouring overlap, and records drift and the last fire. */
  async #fire(fires: { entry: Entry; time: number }[], bypassOverlap = false): Promise<void> {
    if (fires.length === 0) return;
    const entries: { input: JobInput; ctx: { owner: string; scheduleId: string; scheduledTime: number } }[] =
      [];
    for (const { entry, time } of fires) {
      const s = entry.schedule;
      if (!bypassOverlap && s.overlap !== "allow" && (await this.#hasActiveRun(s.id))) {
        if (s.overlap === "queue") this.#waiting.set(s.id, [...(this.#waiting.get(s.id) ?? []), time]);
        else this.#o.logger.debug({ scheduleId: s.id, time }, "previous run still active: fire skipped");
        continue;
      }
      entries.push({ input: { ...s.job }, ctx: { owner: s.owner, scheduleId: s.id, scheduledTime: time } });
    }
    if (entries.length > 0) {
      try {
        const outcomes = await this.#o.engine.enqueueEntries(entries);
        const enqueuedAt = this.#o.clock.now();
        for (const o of outcomes) if (o.created) this.#o.drift.enqueue.add(enqueuedAt - o.job.scheduledTime!);
      } catch (err) {
        this.#o.logger.error({ err: String(err), fires: entries.length }, "could not enqueue schedule fires");
      }
    }
    await this.#o.store.setLastFires(fires.map(({ entry, time }) => ({ id: entry.schedule.id, time })));
  }

  async #hasActiveRun(scheduleId: string): Promise<boolean> {
    const jobs = await this.#o.engine.store.listJobs({ scheduleId, status: [...ACTIVE], limit: 1 });
    return jobs.length > 0;
  }

  async #releaseWaiting(scheduleId: string): Promise<void> {
    const entry = this.#entries.get(scheduleId);
    const queue = this.#waiting.get(scheduleId);
    if (!entry || !queue?.length || (await this.#hasActiveRun(scheduleId))) return;
    const time = queue.shift()!;
    if (queue.length === 0) this.#waiting.delete(scheduleId);
    await this.#fire([{ entry, time }], true);
  }
}
