/**
 * Turns failures into outbox rows by reading the change feed (store/feed.ts) after a durable cursor, on
 * the leader only. Each write puts the new alerts and the moved cursor in one transaction
 * (AlertStore.addFromFeed), so a failure is recorded exactly once whatever dies when: a failure committed
 * just before a `kill -9` is a feed row after the cursor, read again by the next leader. The outbox's
 * uniqueness per (job, url) is a second guard.
 *
 * Invariant: the cursor, in memory or stored, never moves past a change that was not handled. A read or
 * write that throws leaves both where they were and the next pass reads the same changes again.
 *
 * The store's cursor is the truth: it is read when this node starts leading, and every write is a
 * compare-and-set from the value read, so two leaders overlapping for a moment cannot both record a
 * page (the second finds the cursor moved, re-reads it and goes on from there).
 *
 * Where it starts: the cursor is seeded at the feed's latest change when the store is first migrated to
 * this version (migration 008 on SQLite, 007 on PostgreSQL); failures from before are history, not
 * alerted. Should the row be missing, it is created at the feed's latest change, with the same meaning.
 */
import type { Logger } from "pino";
import type { Clock } from "../core/clock.ts";
import type { AlertStore, ScheduleStore } from "../scheduler/schedule-store.ts";
import type { Store } from "../store/store.ts";
import { type AlertTargets, alertsFor } from "./alert-body.ts";

const PAGE = 500;
/** Without a live wake-up (or one missed), a failure is still recorded within this. */
const POLL_MS = 500;
/**
 * A page without failures moves the cursor in memory only, written at most this often: on a busy node
 * nearly every page is such, and one write per page would compete with the job writes for nothing.
 * After a crash at most this much of the feed is read again, which records nothing twice (a failure is
 * always written with its cursor).
 */
const PERSIST_MS = 1000;

export interface AlertRecorderOptions {
  store: Store;
  alerts: AlertStore;
  schedules: ScheduleStore;
  targets: AlertTargets;
  clock: Clock;
  logger: Logger;
  /**
   * A wake-up when this process failed jobs (the bus), so a failure is recorded at once rather than at
   * the next poll; what is recorded is always read from the store. Other nodes' failures wait for the
   * poll: the recorder reads failures only, never every change, so following the whole feed to wake up
   * sooner would cost more than it saves.
   */
  subscribe?: (fn: () => void) => () => void;
  /** New alerts are in the outbox. */
  onRecorded: () => void;
  pollMs?: number;
}

export class AlertRecorder {
  readonly #o: AlertRecorderOptions;
  #timer: NodeJS.Timeout | null = null;
  #unsubscribe: (() => void) | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  /** Where reading goes on: at or past #stored. null: not read from the store yet. */
  #cursor: number | null = null;
  /** The cursor as this node last read or wrote it in the store. */
  #stored: number | null = null;
  #storedAt = 0;
  #reload = true;

  constructor(opts: AlertRecorderOptions) {
    this.#o = opts;
  }

  start(): void {
    if (this.#timer) return;
    // Another leader may have moved the cursor while this node did not lead: the next pass re-reads it.
    this.#reload = true;
    this.#unsubscribe = this.#o.subscribe?.(() => void this.wake()) ?? null;
    this.#timer = setInterval(() => void this.wake(), this.#o.pollMs ?? POLL_MS);
    this.#timer.unref();
    void this.wake();
  }

  /** A pass still under way finishes; its write is guarded by the compare-and-set. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  /** Reads the feed soon (coalesced with a pass under way). */
  wake(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#pass().finally(() => {
      this.#running = null;
      if (this.#again) {
        this.#again = false;
        void this.wake();
      }
    });
    return this.#running;
  }

  /** Records the failures the feed holds now (tests, a node that does not lead). */
  async flush(): Promise<void> {
    await this.#running;
    await this.wake();
  }

  /** Resolves when no pass is under way (close). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #pass(): Promise<void> {
    const { store, clock } = this.#o;
    try {
      if (this.#reload || this.#cursor === null) {
        await this.#load();
        this.#reload = false;
      }
      // Every change up to the latest visible one is committed (store/feed.ts: sequences become
      // visible in order), so the cursor may move up to it once the failures before it are recorded.
      const latest = (await store.feedBounds()).latest;
      for (;;) {
        const failed = await store.readFailures(this.#cursor!, latest, PAGE);
        const to = failed.length < PAGE ? latest : failed[failed.length - 1]!.seq;
        if (failed.length > 0) {
          const made = await alertsFor(failed, { ...this.#o, now: clock.now() });
          if (!(await this.#save(to, made))) continue;
        } else this.#cursor = Math.max(this.#cursor!, to);
        if (failed.length < PAGE) break;
      }
      if (this.#cursor !== this.#stored && clock.now() - this.#storedAt >= PERSIST_MS)
        await this.#save(this.#cursor!, []);
    } catch (err) {
      this.#o.logger.error({ err: String(err) }, "recording alerts from the change feed failed; will retry");
    }
  }

  /** Writes alerts and cursor together; false when another node had moved the cursor (re-read). */
  async #save(to: number, made: Parameters<AlertStore["addFromFeed"]>[0]): Promise<boolean> {
    const added = await this.#o.alerts.addFromFeed(made, { from: this.#stored, to });
    if (added === null) {
      this.#o.logger.info("another node moved the alert cursor; going on from there");
      await this.#load();
      return false;
    }
    this.#cursor = this.#stored = to;
    this.#storedAt = this.#o.clock.now();
    if (added > 0) this.#o.onRecorded();
    return true;
  }

  async #load(): Promise<void> {
    const { alerts, store, logger } = this.#o;
    let at = await alerts.alertCursor();
    const bounds = await store.feedBounds();
    if (at === null) {
      // No cursor at all: start at the feed's latest change, as the migration does.
      if ((await alerts.addFromFeed([], { from: null, to: bounds.latest })) === null)
        at = await alerts.alertCursor();
      else at = bounds.latest;
      if (at === null) throw new Error("the alert cursor is missing");
    }
    if (bounds.oldest > at + 1)
      logger.error(
        { cursor: at, oldest: bounds.oldest },
        "feed retention removed changes before alerts read them; failures among them raise no alert",
      );
    this.#cursor = this.#stored = at;
    this.#storedAt = this.#o.clock.now();
  }
}
