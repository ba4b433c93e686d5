/**
 * Fires schedules on the leader. One timer, armed for the top of a heap of next fire times — never a scan
 * of every schedule each second. What each fire becomes is fire-batch.ts's job; this module decides when.
 *
 * Lead time: a batch of n fires due at the same instant takes n × (measured ms per fire) to write. When
 * that is more than a couple of milliseconds (10,000 schedules on one second: ~½ s on SQLite), the batch
 * starts early by about twice that and its jobs are written due at their instant, so each is durable before its
 * second and the dispatcher releases them on time. Only overlap "allow" fires go early; "skip" and "queue"
 * must look at the previous run at the instant itself. Batches are cut in chunks with the event loop free
 * between them, so the dispatcher's own timers (releasing the previous second's jobs) are not held up.
 *
 * Exactly once: each job carries (scheduleId, scheduledTime), unique in the store. A schedule's
 * lastFireTime is where a restart or a new leader resumes; fires missed in between follow catchUp within
 * catchUpWindowMs (plan.ts). All work — start, stop, ticks, re-planning — runs one step at a time, in order.
 */
import type { Logger } from "pino";
import type { Clock } from "../core/clock.ts";
import type { Engine } from "../engine/engine.ts";
import type { FeedHub } from "../engine/feed-hub.ts";
import type { DriftMeter } from "./drift.ts";
import { type Due, type Entry, fireBatch } from "./fire-batch.ts";
import { FireHeap } from "./fire-heap.ts";
import { HeldQueue, takeReleasable } from "./held-queue.ts";
import { leadTime, planFires } from "./plan.ts";
import { nextFire, parseCron, type Schedule } from "./schedule.ts";
import type { ScheduleStore } from "./schedule-store.ts";

export interface SchedulerOptions {
  engine: Engine;
  store: ScheduleStore;
  clock: Clock;
  logger: Logger;
  drift: DriftMeter;
  /** Upper bound of the lead time (ms); 0 never fires early. Default 2000. */
  maxLeadMs?: number;
  /** Fires per enqueue transaction. Default 500 (~30 ms of SQLite work). */
  chunkSize?: number;
  /** Checked before each chunk: a node that just lost the leader lease stops firing at once. */
  isLeader?: () => boolean;
  /** On a shared store: the change feed, which says when a run that ended on another node frees a fire. */
  feed?: FeedHub;
}

/** A fire this late when its turn comes (process suspended, clock jumped forward) follows catchUp. */
const LATE_MS = 10_000;
/** Fires this recent when a schedule is re-planned are due, not missed: the change was on its way. */
const PLAN_GRACE_MS = 5000;
const RETRY_MS = 1000;
const MAX_RETRIES = 30;
/** Re-check at least this often (wall clock changes); held fires are re-checked every second. */
const MAX_SLEEP_MS = 60_000;
const HELD_CHECK_MS = 1000;

export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #entries = new Map<string, Entry>();
  /** overlap "allow": may fire early. Entries whose ref is not the current Entry are stale, skipped. */
  readonly #early = new FireHeap();
  /** overlap "skip" / "queue": fire at the instant. */
  readonly #exact = new FireHeap();
  /** Schedules with overlap "queue": their held fires are checked. */
  readonly #held = new HeldQueue();
  #retry: { due: Due; at: number; tries: number }[] = [];
  readonly #unsubscribe: (() => void)[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Number.POSITIVE_INFINITY;
  /** start() was called and stop() was not since. */
  #wanted = false;
  #running = false;
  /** Bumped by start and stop: a batch of an older generation stops between chunks. */
  #gen = 0;
  /** Measured cost of a fire (ms, moving average), for the lead time. */
  #msPerFire = 0.05;
  #heldCheckQueued = false;

  constructor(opts: SchedulerOptions) {
    this.#o = opts;
  }

  get size(): number {
    return this.#entries.size;
  }

  get running(): boolean {
    return this.#running;
  }

  /** When the timer wakes the scheduler next (null: not armed). Tests step a fake clock to it. */
  get nextWakeAt(): number | null {
    return this.#timer ? this.#timerAt : null;
  }

  /**
   * Loads every active schedule from the store and starts firing (on becoming leader). If the store
   * cannot be read, it tries again every second until it can or stop() is called.
   */
  start(): Promise<void> {
    this.#wanted = true;
    return this.#serial(() => this.#start());
  }

  /** Stops firing; a batch in progress ends after its current chunk. Safe to call at any time. */
  stop(): Promise<void> {
    this.#wanted = false;
    this.#halt();
    return this.#serial(async () => {
      if (!this.#wanted) this.#reset(); // frees memory unless started again meanwhile
    });
  }

  /** Re-reads one schedule (created, changed, paused, deleted) and re-plans it. */
  refresh(id: string): Promise<void> {
    return this.#serial(async () => {
      if (!this.#running) return;
      const gen = this.#gen;
      const now = this.#o.clock.now();
      // Fires written ahead belong to the plan being replaced, whatever changed: even an unchanged-looking
      // schedule may have been paused and resumed since the last refresh. They go first, and the schedule is
      // read after, so its lastFireTime does not count them and the new plan writes them again (once: the
      // heap entries of the old plan are stale from here on).
      await this.#o.store.discardStaged([id], now);
      const s = await this.#o.store.get(id);
      this.#entries.delete(id);
      this.#held.forget(id);
      if (s && !s.paused) {
        const held = (await this.#o.store.heldFires([id])).get(id) ?? [];
        await this.#fire(this.#plan(s, now, PLAN_GRACE_MS, held), gen);
      }
      this.#arm();
    });
  }

  /** Resolves once no step is queued or running (tests drive the scheduler with a fake clock). */
  async whenIdle(): Promise<void> {
    for (let q = this.#queue; ; q = this.#queue) {
      await q;
      if (q === this.#queue) return;
    }
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #start(): Promise<void> {
    if (!this.#wanted || this.#running) return;
    this.#reset();
    this.#running = true;
    const gen = ++this.#gen;
    const { bus } = this.#o.engine;
    this.#unsubscribe.push(
      bus.subscribe("schedule", (e) => void this.refresh(e.id).catch((err) => this.#error(err))),
      // A run of a schedule that holds fires ended: its next held fire may go.
      bus.subscribe("jobs", (e) => {
        if (this.#held.freedBy(e.jobs)) this.#queueHeldCheck();
      }),
    );
    const { feed } = this.#o;
    if (feed)
      this.#unsubscribe.push(
        feed.subscribe((events) => {
          const ended = events.flatMap((e) => (e.to ? [{ scheduleId: e.scheduleId, status: e.to }] : []));
          if (this.#held.freedBy(ended)) this.#queueHeldCheck();
        }),
      );
    const now = this.#o.clock.now();
    try {
      const active = await this.#o.store.listActive();
      const held = await this.#o.store.heldFires(active.map((s) => s.id));
      const due: Due[] = [];
      for (const s of active) due.push(...this.#plan(s, now, 0, held.get(s.id) ?? []));
      await this.#fire(due, gen);
      await this.#releaseHeld(gen);
    } catch (err) {
      this.#error(err);
      this.#halt();
      setTimeout(() => void this.#serial(() => this.#start()), RETRY_MS).unref?.();
      return;
    }
    if (gen !== this.#gen) return;
    this.#arm();
    // plannedAt: fires up to this instant were missed (catch-up policy); later ones are on time.
    this.#o.logger.info({ schedules: this.#entries.size, plannedAt: now }, "scheduler started");
  }

  #halt(): void {
    this.#running = false;
    this.#gen++;
    this.#clearTimer();
    for (const u of this.#unsubscribe.splice(0)) u();
  }

  #reset(): void {
    this.#early.clear();
    this.#exact.clear();
    this.#entries.clear();
    this.#held.clear();
    this.#retry = [];
  }

  /** Makes `s` the current plan of its schedule: next fire on a heap; returns the fires owed now. */
  #plan(s: Schedule, now: number, graceMs: number, held: number[]): Due[] {
    let entry: Entry;
    try {
      entry = { schedule: s, cron: parseCron(s.cron, s.timezone), held: [...held] };
    } catch (err) {
      this.#o.logger.error({ scheduleId: s.id, err: String(err) }, "schedule cannot be planned");
      return [];
    }
    this.#entries.set(s.id, entry);
    this.#held.track(entry);
    const plan = planFires(entry.cron, s, now, graceMs);
    if (plan.next !== null) this.#heapOf(s).push({ time: plan.next, scheduleId: s.id, ref: entry });
    const out: Due[] = [];
    // Held fires of a schedule that no longer queues are run now rather than lost.
    if (s.overlap !== "queue" && entry.held.length > 0) {
      for (const time of entry.held.splice(0)) out.push({ entry, time, kind: "held" });
      void this.#o.store.setHeldFires([{ id: s.id, times: [] }]).catch((err) => this.#error(err));
    }
    for (const time of plan.late) out.push({ entry, time, kind: "late" });
    for (const time of plan.recent) out.push({ entry, time, kind: "onTime" });
    return out;
  }

  #heapOf(s: Schedule): FireHeap {
    return s.overlap === "allow" ? this.#early : this.#exact;
  }

  #leadFor(time: number): number {
    return leadTime(this.#early.countAt(time), this.#msPerFire, this.#o.maxLeadMs ?? 2000);
  }

  #arm(): void {
    if (!this.#running) return;
    const now = this.#o.clock.now();
    const early = this.#early.peek();
    const exact = this.#exact.peek();
    let at = Math.min(
      early ? early.time - this.#leadFor(early.time) : Number.POSITIVE_INFINITY,
      exact ? exact.time : Number.POSITIVE_INFINITY,
    );
    for (const r of this.#retry) at = Math.min(at, r.at);
    if (this.#held.holding(this.#entries).length > 0) at = Math.min(at, now + HELD_CHECK_MS);
    if (at === Number.POSITIVE_INFINITY) {
      this.#clearTimer();
      return;
    }
    at = Math.min(at, now + MAX_SLEEP_MS);
    if (this.#timer && this.#timerAt <= at) return;
    this.#clearTimer();
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        this.#timerAt = Number.POSITIVE_INFINITY;
        void this.#serial(() => this.#tick()).catch((err) => this.#error(err));
      },
      Math.max(0, at - now),
    );
    this.#timer.unref?.();
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  async #tick(): Promise<void> {
    if (!this.#running) return;
    const gen = this.#gen;
    const now = this.#o.clock.now();
    const due: Due[] = [];
    // A fire time's lead is decided once for its whole group (it would shrink as the group is taken).
    const leads = new Map<number, number>();
    const take = (heap: FireHeap, early: boolean) => {
      for (let top = heap.peek(); top; top = heap.peek()) {
        if (early && !leads.has(top.time)) leads.set(top.time, this.#leadFor(top.time));
        if (top.time - (leads.get(top.time) ?? 0) > now) break;
        heap.pop();
        const entry = this.#entries.get(top.scheduleId);
        if (!entry || entry !== top.ref) continue; // stale: the schedule changed or went away
        if (now - top.time > LATE_MS) {
          // Far behind (suspended process, clock jump): catchUp decides, and firing goes on from now.
          due.push(...this.#plan({ ...entry.schedule, lastFireTime: top.time - 1 }, now, 0, entry.held));
          continue;
        }
        // The next fire goes on the heap at once: a tick a few seconds late takes each second it owes.
        due.push({ entry, time: top.time, kind: "onTime" });
        const next = nextFire(entry.cron, entry.schedule, top.time);
        if (next !== null) heap.push({ time: next, scheduleId: top.scheduleId, ref: entry });
      }
    };
    take(this.#early, true);
    take(this.#exact, false);
    const retries = this.#retry.filter((r) => r.at <= now);
    this.#retry = this.#retry.filter((r) => r.at > now);
    await this.#fire(due, gen, new Map(retries.map((r) => [r.due, r.tries])));
    const fires = due.length + retries.length;
    if (fires >= 20 && gen === this.#gen) {
      // Wall time from the tick's start, chunk pauses included: that is what the lead must cover.
      this.#msPerFire = this.#msPerFire * 0.7 + ((this.#o.clock.now() - now) / fires) * 0.3;
    }
    await this.#releaseHeld(gen);
    this.#arm();
  }

  /** Fires in chunks, the event loop free between them; failed fires come back after RETRY_MS. */
  async #fire(due: Due[], gen: number, tries = new Map<Due, number>()): Promise<void> {
    const all = [...due, ...tries.keys()];
    const size = this.#o.chunkSize ?? 500;
    for (let i = 0; i < all.length; i += size) {
      if (gen !== this.#gen || (this.#o.isLeader && !this.#o.isLeader())) return;
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const chunk = all.slice(i, i + size);
      let failed: Due[];
      try {
        failed = await fireBatch(this.#o, chunk);
      } catch (err) {
        this.#error(err);
        failed = chunk;
      }
      for (const f of failed) {
        const n = (tries.get(f) ?? 0) + 1;
        if (n <= MAX_RETRIES) this.#retry.push({ due: f, at: this.#o.clock.now() + RETRY_MS, tries: n });
        else this.#o.drift.counts.failed++;
      }
    }
  }

  #queueHeldCheck(): void {
    if (this.#heldCheckQueued) return;
    this.#heldCheckQueued = true;
    void this.#serial(async () => {
      this.#heldCheckQueued = false;
      if (this.#running) await this.#releaseHeld(this.#gen);
      this.#arm();
    }).catch((err) => this.#error(err));
  }

  /** overlap "queue": each schedule whose runs have all ended gets its oldest held fire enqueued. */
  async #releaseHeld(gen: number): Promise<void> {
    if (gen !== this.#gen || this.#held.size === 0) return;
    const due = await takeReleasable(this.#o.store, this.#held.holding(this.#entries));
    if (due.length === 0) return;
    await this.#fire(due, gen);
    await this.#o.store.setHeldFires(due.map((d) => ({ id: d.entry.schedule.id, times: [...d.entry.held] })));
  }

  #error(err: unknown): void {
    this.#o.logger.error({ err: String(err) }, "scheduler step failed");
  }
}
