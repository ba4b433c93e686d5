/**
 * Drift of schedule fires, as seed 002 measures it: enqueuedAt − scheduledTime (the scheduler's own
 * precision) and startedAt − scheduledTime (what the target sees). Each kept in a ring of the latest
 * samples: constant memory, percentiles computed on read (metrics), never on the hot path.
 */
export class DriftRing {
  readonly #samples: Float64Array;
  #count = 0;
  #next = 0;

  constructor(size = 10_000) {
    this.#samples = new Float64Array(size);
  }

  add(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#samples.length;
    this.#count = Math.min(this.#count + 1, this.#samples.length);
  }

  summary(): { count: number; p50: number; p99: number; max: number } {
    if (this.#count === 0) return { count: 0, p50: 0, p99: 0, max: 0 };
    const sorted = this.#samples.slice(0, this.#count).sort();
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    return { count: this.#count, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
  }
}

export class DriftMeter {
  readonly enqueue = new DriftRing();
  readonly start = new DriftRing();

  metrics(): Record<string, unknown> {
    return { scheduleDriftMs: { enqueue: this.enqueue.summary(), start: this.start.summary() } };
  }
}
