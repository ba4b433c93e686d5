/**
 * The workers of other nodes, as placement's peers (core/placement.ts). Without them the first node to
 * claim a batch gives all of it to its own waiter — a prefetching worker asks for up to three capacities —
 * while a worker waiting on another node sits idle (2 idle workers of capacity 4, 4 jobs: 4 and 0).
 *
 * Read from the worker registry and shared by the claims of the next `ttlMs`: placement needs "probably
 * waiting now", not a transaction-exact list, and the claim counts what each peer runs from the jobs
 * table itself. A worker counts while it heartbeats (seen within `freshMs`) and is not draining; a dead
 * one is left jobs for at most that long.
 */
import type { Clock } from "../core/clock.ts";
import type { ClusterStore } from "../store/cluster-store.ts";
import type { PeerWorker } from "../store/store.ts";

export class PeerDirectory {
  readonly #cluster: ClusterStore;
  readonly #clock: Clock;
  readonly #freshMs: number;
  readonly #ttlMs: number;
  #read: Promise<PeerWorker[]> | null = null;
  #readAt = Number.NEGATIVE_INFINITY;

  constructor(opts: { cluster: ClusterStore; clock: Clock; freshMs: number; ttlMs?: number }) {
    this.#cluster = opts.cluster;
    this.#clock = opts.clock;
    this.#freshMs = opts.freshMs;
    this.#ttlMs = opts.ttlMs ?? 250;
  }

  list(): Promise<PeerWorker[]> {
    const now = this.#clock.now();
    if (!this.#read || now - this.#readAt > this.#ttlMs) {
      this.#readAt = now;
      this.#read = this.#load(now);
      // A failed read is not kept: the next claim tries again.
      this.#read.catch(() => {
        this.#read = null;
      });
    }
    return this.#read;
  }

  async #load(now: number): Promise<PeerWorker[]> {
    const workers = await this.#cluster.listWorkers();
    return workers
      .filter((w) => !w.draining && now - w.lastSeenAt <= this.#freshMs)
      .map((w) => ({
        workerId: w.id,
        capacity: w.capacity,
        labels: w.labels,
        queues: w.queues,
        types: w.types,
      }));
  }
}
