/**
 * Hands ready jobs to waiting workers. Workers pull: a poll first tries to claim at once; if nothing is
 * ready it waits (long-poll) until a "ready" event, the timer of the next scheduled job, or its deadline.
 * All waiters are served together in one claim, so the store's placement gives each job to the least
 * loaded waiter that may run it (seed 001's dispatch without a push channel).
 *
 * Wake-ups are events; the periodic sweep is only the safety net for events lost between nodes.
 *
 * On a shared database every claim also names the workers of other nodes (peers, engine/peer-workers.ts),
 * so placement weighs them too; a poll that may not wait joins the waiters' claim when there are any, so
 * a prefetching worker's extra poll cannot take jobs placement would give an idle waiter.
 */

import type { EventBus } from "../cluster/event-bus.ts";
import type { Clock } from "../core/clock.ts";
import type { Claim } from "../core/job.ts";
import type { WaitingWorker } from "../core/placement.ts";
import type { PeerWorker, Store } from "../store/store.ts";

export interface PollRequest extends WaitingWorker {
  /** How long to wait when nothing is ready; 0 = answer at once. */
  waitMs: number;
  signal?: AbortSignal;
}

interface Waiter {
  req: PollRequest;
  resolve: (claims: Claim[]) => void;
  timer: NodeJS.Timeout | null;
  onAbort: (() => void) | null;
}

export interface DispatcherOptions {
  store: Store;
  bus: EventBus;
  clock: Clock;
  leaseMs: number;
  /** Safety-net sweep while workers wait (ms). */
  sweepMs?: number;
  onError: (err: unknown) => void;
}

/** Longest a timer is armed for a scheduled job; later ones are re-read when it fires. */
const MAX_TIMER_MS = 60_000;

export class Dispatcher {
  readonly #o: DispatcherOptions;
  readonly #waiters = new Set<Waiter>();
  readonly #unsubscribe: (() => void)[] = [];
  /** Bumped on every wake; a poll that saw it change while it claimed knows to look again. */
  #generation = 0;
  #draining: Promise<void> | null = null;
  #dirty = false;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Number.POSITIVE_INFINITY;
  #sweep: NodeJS.Timeout | null = null;
  #closed = false;
  #peers: (() => Promise<PeerWorker[]>) | null = null;
  /** Set while this dispatcher wakes other nodes, so that it does not wake itself with the same event. */
  #wakingPeers = false;

  constructor(opts: DispatcherOptions) {
    this.#o = opts;
    this.#unsubscribe.push(
      opts.bus.subscribe("ready", () => {
        if (!this.#wakingPeers) this.wake();
      }),
      opts.bus.subscribe("scheduled", (e) => this.#armTimer(e.runAt)),
    );
    this.#sweep = setInterval(() => {
      if (this.#waiters.size > 0) this.wake();
    }, opts.sweepMs ?? 1000);
    this.#sweep.unref();
    void this.#rearmFromStore();
  }

  get waiting(): number {
    return this.#waiters.size;
  }

  /** Where to learn the workers of other nodes (shared databases only). */
  setPeerSource(source: () => Promise<PeerWorker[]>): void {
    this.#peers = source;
  }

  async poll(req: PollRequest): Promise<Claim[]> {
    if (this.#closed || req.slots <= 0) return [];
    const generation = this.#generation;
    if (this.#waiters.size === 0) {
      // Nobody else is waiting here, so only the peers are to be fair to: claim directly.
      const claims = await this.#claim([req]);
      if (claims.length > 0 || req.waitMs <= 0) return claims;
    }
    // A poll that may not wait joins the waiters' claim only to be fair to another worker: its own
    // worker's long-poll is no one to be fair to, and claiming for both as two "workers" took the
    // multi-worker placement path (on PostgreSQL a transaction of several statements) for every
    // prefetch of a lone pool, which halved its throughput.
    if (req.waitMs <= 0 && !this.#othersWait(req.workerId)) return this.#claim([req]);
    return new Promise<Claim[]>((resolve) => {
      const waiter: Waiter = { req, resolve, timer: null, onAbort: null };
      // A poll that may not wait is answered by the next claim for all waiters (#drain), whatever it gets.
      if (req.waitMs > 0) waiter.timer = setTimeout(() => this.#settle(waiter, []), req.waitMs);
      if (req.signal) {
        waiter.onAbort = () => this.#settle(waiter, []);
        if (req.signal.aborted) return resolve([]);
        req.signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.#waiters.add(waiter);
      // A job may have become ready between our claim and joining the waiters.
      if (this.#generation !== generation || this.#waiters.size > 1 || req.waitMs <= 0) this.wake();
    });
  }

  #othersWait(workerId: string): boolean {
    for (const w of this.#waiters) if (w.req.workerId !== workerId) return true;
    return false;
  }

  /** Ends the long-polls of one worker with no jobs (it was drained). */
  dropWaiters(workerId: string): void {
    for (const w of [...this.#waiters]) if (w.req.workerId === workerId) this.#settle(w, []);
  }

  /** Jobs may be ready: serve the waiters. Coalesces bursts of wake-ups into one claim. */
  wake(): void {
    this.#generation++;
    if (this.#waiters.size === 0) return;
    if (this.#draining) {
      this.#dirty = true;
      return;
    }
    this.#draining = this.#drain().finally(() => {
      this.#draining = null;
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const u of this.#unsubscribe) u();
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#sweep) clearInterval(this.#sweep);
    for (const w of [...this.#waiters]) this.#settle(w, []);
    await this.#draining;
  }

  /**
   * One claim for these waiters, with the workers of other nodes as peers (not the waiters themselves).
   * Without a peer source it is the store's own promise: no extra tick between a claim and its waiter.
   */
  #claim(workers: PollRequest[]): Promise<Claim[]> {
    const claim = (peers: PeerWorker[]) =>
      this.#o.store.claim({
        now: this.#o.clock.now(),
        leaseMs: this.#o.leaseMs,
        workers,
        peers,
        onLeftForPeers: () => this.#wakePeers(),
      });
    if (!this.#peers) return claim([]);
    const here = new Set(workers.map((w) => w.workerId));
    return this.#peers().then(
      (all) => claim(all.filter((p) => !here.has(p.workerId))),
      (err) => {
        // Without peers the claim is still right, only less fair.
        this.#o.onError(err);
        return claim([]);
      },
    );
  }

  /** Jobs were left queued for workers of other nodes: wake those nodes (the bus carries it there). */
  #wakePeers(): void {
    this.#wakingPeers = true;
    try {
      this.#o.bus.publish({ type: "ready" });
    } finally {
      this.#wakingPeers = false;
    }
  }

  async #drain(): Promise<void> {
    do {
      this.#dirty = false;
      const waiters = [...this.#waiters];
      if (waiters.length === 0) return;
      let claims: Claim[];
      try {
        claims = await this.#claim(waiters.map((w) => w.req));
      } catch (err) {
        this.#o.onError(err);
        this.#settleImmediate(waiters);
        return;
      }
      if (claims.length === 0) {
        this.#settleImmediate(waiters);
        continue;
      }
      const byWorker = new Map<string, Claim[]>();
      for (const c of claims) {
        const list = byWorker.get(c.workerId);
        if (list) list.push(c);
        else byWorker.set(c.workerId, [c]);
      }
      for (const w of waiters) {
        const mine = byWorker.get(w.req.workerId);
        if (mine && this.#waiters.has(w)) {
          byWorker.delete(w.req.workerId);
          this.#settle(w, mine);
        }
      }
      this.#settleImmediate(waiters);
      // Claimed for a waiter that left meanwhile (timeout, abort): give them back at once.
      const orphans = [...byWorker.values()].flat();
      if (orphans.length > 0) {
        await this.#o.store.release(
          orphans.map((c) => ({ jobId: c.id, lease: c.lease, attempt: c.attempt, workerId: c.workerId })),
          this.#o.clock.now(),
        );
      }
      // Something was claimed, so more may be ready for the waiters that got nothing.
      if (this.#waiters.size > 0) this.#dirty = true;
    } while (this.#dirty && !this.#closed);
  }

  /** Polls that may not wait got their answer from this claim, even if it was nothing. */
  #settleImmediate(waiters: Waiter[]): void {
    for (const w of waiters) if (w.req.waitMs <= 0) this.#settle(w, []);
  }

  #settle(w: Waiter, claims: Claim[]): void {
    if (!this.#waiters.delete(w)) return;
    if (w.timer) clearTimeout(w.timer);
    if (w.onAbort && w.req.signal) w.req.signal.removeEventListener("abort", w.onAbort);
    w.resolve(claims);
  }

  #armTimer(runAt: number): void {
    if (this.#closed || runAt >= this.#timerAt) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = runAt;
    const delay = Math.min(Math.max(0, runAt - this.#o.clock.now()), MAX_TIMER_MS);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#timerAt = Number.POSITIVE_INFINITY;
      void this.#promoteAndRearm();
    }, delay);
    this.#timer.unref();
  }

  /** Due jobs become `queued` even when no worker is waiting, so their status tells the truth. */
  async #promoteAndRearm(): Promise<void> {
    try {
      if ((await this.#o.store.promoteDue(this.#o.clock.now())) > 0) this.wake();
    } catch (err) {
      this.#o.onError(err);
    }
    await this.#rearmFromStore();
  }

  /** Re-reads the next scheduled job's time: another node scheduled one (the change feed says so). */
  rearm(): void {
    void this.#rearmFromStore();
  }

  async #rearmFromStore(): Promise<void> {
    try {
      const next = await this.#o.store.nextRunAt();
      if (next !== null) this.#armTimer(Math.max(next, this.#o.clock.now() + 1));
    } catch (err) {
      this.#o.onError(err);
    }
  }
}
