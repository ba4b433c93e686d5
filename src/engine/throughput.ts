/**
 * Finished jobs per second over the last minute, from a ring of 60 one-second buckets: constant memory,
 * O(1) per batch. Per node; the cluster-wide figure is the sum over nodes.
 */
export class ThroughputMeter {
  readonly #buckets = new Float64Array(60);
  readonly #stamps = new Float64Array(60);
  #total = 0;

  /** Jobs finished through this node since it started (a counter: it only grows). */
  get total(): number {
    return this.#total;
  }

  record(count: number, now: number): void {
    this.#total += count;
    const second = Math.floor(now / 1000);
    const i = second % 60;
    if (this.#stamps[i] !== second) {
      this.#stamps[i] = second;
      this.#buckets[i] = 0;
    }
    this.#buckets[i]! += count;
  }

  /** Average per second over the 60 s before `now`. */
  perSecond(now: number): number {
    const second = Math.floor(now / 1000);
    let sum = 0;
    for (let i = 0; i < 60; i++) {
      const s = this.#stamps[i]!;
      if (s > second - 60 && s <= second) sum += this.#buckets[i]!;
    }
    return sum / 60;
  }
}
