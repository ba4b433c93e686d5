/**
 * Claims a worker holds beyond its capacity, so that a freed slot starts its next job at once instead of
 * waiting for a poll's round trip (to the SQLite thread, PostgreSQL or a server over HTTP). It is
 * graphile-worker's local queue, with two guards for long jobs, where holding a job back would starve
 * other workers:
 * - it fills only while recent jobs are short (a moving average of their run time), and
 * - a claim held longer than `maxHoldMs` is given back (its attempt is not spent) for anyone to take.
 * Held claims keep their lease: the loop renews them with its running jobs.
 */
import type { Claim } from "../core/job.ts";

export interface PrefetchOptions {
  /** Most claims held beyond capacity; 0 turns prefetching off. */
  limit: number;
  /** Jobs whose average run time is above this are not prefetched. */
  shortJobMs?: number;
  /** Held longer than this, a claim is returned. */
  maxHoldMs?: number;
}

interface Held {
  claim: Claim;
  since: number;
}

export class PrefetchBuffer {
  readonly #o: Required<PrefetchOptions>;
  #held: Held[] = [];
  /** Moving average of run times; starts "long" so nothing is prefetched before a job was measured. */
  #avgMs: number;

  constructor(opts: PrefetchOptions) {
    this.#o = { shortJobMs: 50, maxHoldMs: 1000, ...opts };
    this.#avgMs = this.#o.shortJobMs * 2;
  }

  get size(): number {
    return this.#held.length;
  }

  /** How many claims the worker may hold beyond its capacity now: the limit while jobs are short. */
  get extra(): number {
    return this.#avgMs > this.#o.shortJobMs ? 0 : this.#o.limit;
  }

  ids(): string[] {
    return this.#held.map((h) => h.claim.id);
  }

  /** The claims held, oldest first (their leases are renewed with the running ones). */
  claims(): Claim[] {
    return this.#held.map((h) => h.claim);
  }

  push(claims: Claim[], now: number): void {
    for (const claim of claims) this.#held.push({ claim, since: now });
  }

  shift(): Claim | undefined {
    return this.#held.shift()?.claim;
  }

  /** Drops a claim the server took back (cancelled, lease lost); true if it was held. */
  drop(jobId: string): boolean {
    const before = this.#held.length;
    this.#held = this.#held.filter((h) => h.claim.id !== jobId);
    return this.#held.length < before;
  }

  /** Removes and returns the claims held too long (all of them when `all`), to be released. */
  takeStale(now: number, all = false): Claim[] {
    const stale: Claim[] = [];
    const kept: Held[] = [];
    for (const h of this.#held) {
      if (all || now - h.since > this.#o.maxHoldMs) stale.push(h.claim);
      else kept.push(h);
    }
    this.#held = kept;
    return stale;
  }

  /** Records one job's run time. */
  ran(ms: number): void {
    this.#avgMs += (ms - this.#avgMs) * 0.1;
  }
}
