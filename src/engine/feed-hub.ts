/**
 * This node's reader of the change feed (store/feed.ts). One cursor per node, not per subscriber: the
 * hub reads the rows after its cursor and hands each batch to every subscriber in sequence order, so a
 * thousand live clients cost one query. It reads when this process has changed jobs (the bus's events)
 * and at least every `pollMs`, which is what carries other nodes' changes here on a shared store (the
 * change itself is never lost: it is a row; only how soon it is seen depends on the wake-up).
 *
 * Subscribers that must not miss a change between a past sequence and the live stream use `follow`:
 * it reads the store from `since` up to the hub's cursor, then continues with what the hub reads, with
 * no gap and no repeat.
 */
import type { EventBus } from "../cluster/event-bus.ts";
import { BosunError } from "../core/errors.ts";
import type { FeedEvent } from "../store/feed.ts";
import type { Store } from "../store/store.ts";

const PAGE = 1000;

export type FeedListener = (events: FeedEvent[]) => void;

export interface FeedHubOptions {
  store: Store;
  bus: EventBus;
  /** The longest a change made on another node waits before this node reads it. */
  pollMs: number;
  onError: (err: unknown) => void;
}

export class FeedHub {
  readonly #o: FeedHubOptions;
  readonly #listeners = new Set<FeedListener>();
  readonly #unsubscribe: (() => void)[] = [];
  #cursor = 0;
  #started = false;
  #starting: Promise<void> | null = null;
  #stopped = false;
  #reading: Promise<void> | null = null;
  #again = false;
  #timer: NodeJS.Timeout | null = null;
  /** Nobody listened for a while: the cursor is old, and what it missed nobody wants. */
  #resync = false;

  constructor(opts: FeedHubOptions) {
    this.#o = opts;
  }

  /** The last sequence this node has handed out. */
  get cursor(): number {
    return this.#cursor;
  }

  /** Starts on the first subscriber: a node nobody follows reads nothing. */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#cursor = (await this.#o.store.feedBounds()).latest;
    if (this.#stopped) return;
    this.#started = true;
    const wake = () => void this.poke();
    for (const type of ["jobs", "started", "ready", "scheduled", "cancelled", "feed"] as const)
      this.#unsubscribe.push(this.#o.bus.subscribe(type, wake));
    this.#timer = setInterval(wake, this.#o.pollMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#starting?.catch(() => undefined);
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    for (const u of this.#unsubscribe.splice(0)) u();
    await this.#reading;
    this.#listeners.clear();
  }

  /** Reads the feed soon (coalesced): a change was made, or a caller wants the freshest cursor. */
  poke(): Promise<void> {
    if (!this.#started || this.#listeners.size === 0) return Promise.resolve();
    if (this.#reading) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = this.#drain().finally(() => {
      this.#reading = null;
      if (this.#again) {
        this.#again = false;
        void this.poke();
      }
    });
    return this.#reading;
  }

  async #drain(): Promise<void> {
    try {
      if (this.#resync) {
        this.#resync = false;
        this.#cursor = Math.max(this.#cursor, (await this.#o.store.feedBounds()).latest);
      }
      for (;;) {
        const page = await this.#o.store.readFeed(this.#cursor, PAGE);
        if (page.length === 0) return;
        this.#cursor = page[page.length - 1]!.seq;
        for (const l of this.#listeners) {
          try {
            l(page);
          } catch (err) {
            this.#o.onError(err);
          }
        }
        if (page.length < PAGE) return;
      }
    } catch (err) {
      this.#o.onError(err);
    }
  }

  /** Live changes from now on (after the hub's cursor). */
  subscribe(fn: FeedListener): () => void {
    // The hub reads nothing while nobody listens: its cursor stayed where the last listener left it.
    if (this.#listeners.size === 0 && this.#started) this.#resync = true;
    this.#listeners.add(fn);
    this.start().catch(this.#o.onError);
    return () => this.#listeners.delete(fn);
  }

  /**
   * Every change after `since`, then the live ones, each once and in order. Throws EVENTS_EXPIRED when
   * retention already removed changes after `since`. The returned function stops the subscription.
   */
  async follow(since: number, fn: FeedListener, signal?: AbortSignal): Promise<() => void> {
    await this.start();
    const bounds = await this.#o.store.feedBounds();
    if (since < bounds.oldest - 1)
      throw new BosunError(
        "EVENTS_EXPIRED",
        `Changes after ${since} are no longer kept; the oldest kept is ${bounds.oldest}`,
        { since, oldest: bounds.oldest, latest: bounds.latest },
      );
    // Idle until now: start the hub from the feed's end rather than replay what nobody listened to
    // (this follower reads its own past up to there).
    if (this.#listeners.size === 0 && !this.#reading) this.#cursor = Math.max(this.#cursor, bounds.latest);
    // Live batches that arrive while the past is read wait here; the past is read up to what they hold.
    let last = since;
    let pending: FeedEvent[][] | null = [];
    const deliver = (events: FeedEvent[]) => {
      const fresh = events.filter((e) => e.seq > last);
      if (fresh.length === 0) return;
      last = fresh[fresh.length - 1]!.seq;
      fn(fresh);
    };
    const stop = this.subscribe((events) => (pending ? pending.push(events) : deliver(events)));
    // The cursor was set above from the bounds this follower reads its past against: no resync.
    this.#resync = false;
    try {
      // The hub's cursor can only grow while this reads: read the past up to it.
      for (let upTo = this.#cursor; last < upTo && !signal?.aborted; ) {
        const page = await this.#o.store.readFeed(last, Math.min(PAGE, upTo - last));
        if (page.length === 0) break;
        deliver(page.filter((e) => e.seq <= upTo));
        if (page[page.length - 1]!.seq >= upTo) break;
        upTo = this.#cursor;
      }
      const queued = pending;
      pending = null;
      for (const events of queued) deliver(events);
    } catch (err) {
      stop();
      throw err;
    }
    return stop;
  }
}
