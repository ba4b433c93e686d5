/**
 * Deletes rows older than a retention window (the change feed, the audit log, ended sessions), on the
 * leader only, a bounded batch at a time with a pause in between: retention never holds the writer long
 * (SQLite) nor takes a lock on the whole table (PostgreSQL).
 */
import type { Clock } from "../core/clock.ts";

const BATCH = 5000;
const INTERVAL_MS = 10_000;

/** Deletes up to `limit` of the oldest rows made before `before`; returns how many went. */
export type Prune = (before: number, limit: number) => Promise<number>;

export class Retention {
  readonly #prune: Prune;
  readonly #clock: Clock;
  readonly #retentionMs: number;
  readonly #onError: (err: unknown) => void;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;

  constructor(opts: { prune: Prune; clock: Clock; retentionMs: number; onError: (err: unknown) => void }) {
    this.#prune = opts.prune;
    this.#clock = opts.clock;
    this.#retentionMs = opts.retentionMs;
    this.#onError = opts.onError;
  }

  start(): void {
    if (this.#timer) return;
    this.#stopped = false;
    this.#timer = setInterval(() => {
      this.#running ??= this.prune()
        .then(() => undefined, this.#onError)
        .finally(() => {
          this.#running = null;
        });
    }, INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One pass: batches until nothing older than the window is left; returns how many went. */
  async prune(): Promise<number> {
    const before = this.#clock.now() - this.#retentionMs;
    let total = 0;
    for (;;) {
      const n = await this.#prune(before, BATCH);
      total += n;
      if (n < BATCH || this.#stopped) return total;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
