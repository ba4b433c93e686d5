/**
 * Drift of schedule fires, as seed 002 measures it: enqueuedAt − scheduledTime (the scheduler's own
 * precision; negative when a large tick was written ahead of its second, see scheduler.ts) and
 * startedAt − scheduledTime (what the target sees). Each is kept in a ring of the latest samples per node:
 * constant memory, percentiles computed on read (metrics), never on the hot path. Fires that are late on
 * purpose (catch-up after downtime, overlap "queue" holding a fire) would drown the signal and are counted,
 * not sampled.
 */
import type { Claim } from "../core/job.ts";

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
    if (this.#count < this.#samples.length) this.#count++;
  }

  /** The kept samples, oldest first (benchmarks, tests). */
  values(): number[] {
    const n = this.#samples.length;
    const start = this.#count < n ? 0 : this.#next;
    return Array.from({ length: this.#count }, (_, i) => this.#samples[(start + i) % n]!);
  }

  summary(): { count: number; p50: number; p99: number; max: number } {
    if (this.#count === 0) return { count: 0, p50: 0, p99: 0, max: 0 };
    // Float64Array sorts numerically (negative drift sorts first).
    const sorted = this.#samples.slice(0, this.#count).sort();
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
    return { count: this.#count, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
  }
}

/** Counters of what the scheduler did with fires, since this node started. */
export interface FireCounts {
  /** Jobs created for on-time fires. */
  fired: number;
  /** Fire times that already had a job (another leader, a restart, a retry of a batch). */
  duplicate: number;
  /** Missed fires run late because of catchUp. */
  caughtUp: number;
  /** Dropped by overlap "skip". */
  skipped: number;
  /** Held by overlap "queue" (released later). */
  held: number;
  /** Fires that could not be enqueued (an invalid job, the store failing after retries). */
  failed: number;
}

/** Most job ids remembered as "late on purpose" until their start is seen. */
const LATE_IDS = 10_000;

export class DriftMeter {
  readonly enqueue: DriftRing;
  readonly start: DriftRing;
  readonly counts: FireCounts = { fired: 0, duplicate: 0, caughtUp: 0, skipped: 0, held: 0, failed: 0 };
  /** Jobs of fires that are late on purpose: their start says nothing about precision. */
  readonly #late = new Set<string>();

  /** `samples`: how many of the latest fires each ring keeps (10,000 ≈ 160 KB per ring). */
  constructor(samples = 10_000) {
    this.enqueue = new DriftRing(samples);
    this.start = new DriftRing(samples);
  }

  /** The scheduler tells which jobs it created late on purpose (bounded: the oldest are forgotten). */
  markLate(jobId: string): void {
    if (this.#late.size >= LATE_IDS) this.#late.delete(this.#late.values().next().value!);
    this.#late.add(jobId);
  }

  /**
   * Start drift from the bus's "started" event, on whichever node the attempt was claimed. Only first
   * attempts count: a retry starts when its backoff says, not when the schedule said.
   */
  recordStarts(claims: readonly Claim[], at: number): void {
    for (const c of claims) {
      if (c.scheduledTime === null || c.attempt !== 1) continue;
      if (this.#late.delete(c.id)) continue;
      this.start.add(at - c.scheduledTime);
    }
  }

  metrics(): Record<string, unknown> {
    return {
      scheduleDriftMs: { enqueue: this.enqueue.summary(), start: this.start.summary() },
      scheduleFires: { ...this.counts },
    };
  }

  /** For the metrics route (MetricsProvider): merged under `extra`, flattened into Prometheus gauges. */
  metricsProvider(): () => Promise<Record<string, unknown>> {
    return async () => this.metrics();
  }
}
