/**
 * Counters of job changes read from the change feed (store/feed.ts), not from this process's own calls:
 * they count every node's changes, and a change made just before a crash is still counted after it.
 * Read when asked (a metrics scrape), from the cursor of the last read: between scrapes they cost nothing.
 * They start at the feed's end when first read, as a Prometheus counter starts at zero with its process.
 */
import type { FeedEvent } from "../store/feed.ts";
import type { Store } from "../store/store.ts";

const PAGE = 5000;
/** A scrape reads at most this many changes; a longer backlog is read on by the following scrapes. */
const MAX_PER_READ = 200_000;

export interface FeedCounts {
  /** Changes by lifecycle event (enqueue, claim, complete, fail…) and queue. */
  changes: Record<string, Record<string, number>>;
  /** Attempts that failed (retried or final), by error code. */
  failures: Record<string, number>;
  /**
   * How often retention deleted changes before this node read them (it was scraped too rarely): the
   * counts then lack those changes. Sequences are not dense, so how many is not known.
   */
  skips: number;
  /** The last change counted. */
  seq: number;
}

export class FeedCounters {
  readonly #store: Store;
  #cursor: number | null = null;
  #reading: Promise<void> | null = null;
  readonly #counts: FeedCounts = { changes: {}, failures: {}, skips: 0, seq: 0 };

  constructor(store: Store) {
    this.#store = store;
  }

  /** Counts what the feed holds after the last read; concurrent callers share one read. */
  async read(): Promise<FeedCounts> {
    this.#reading ??= this.#read().finally(() => {
      this.#reading = null;
    });
    await this.#reading;
    return this.#counts;
  }

  async #read(): Promise<void> {
    const bounds = await this.#store.feedBounds();
    if (this.#cursor === null) {
      this.#cursor = bounds.latest;
      this.#counts.seq = bounds.latest;
      return;
    }
    if (this.#cursor < bounds.oldest - 1) {
      this.#counts.skips += 1;
      this.#cursor = bounds.oldest - 1;
    }
    let read = 0;
    while (read < MAX_PER_READ) {
      const page = await this.#store.readFeed(this.#cursor, PAGE);
      for (const e of page) this.#count(e);
      read += page.length;
      if (page.length > 0) this.#cursor = page[page.length - 1]!.seq;
      if (page.length < PAGE) break;
    }
    this.#counts.seq = this.#cursor;
  }

  #count(e: FeedEvent): void {
    this.#counts.changes[e.event] ??= {};
    const byQueue = this.#counts.changes[e.event]!;
    byQueue[e.queue] = (byQueue[e.queue] ?? 0) + 1;
    if (e.event === "fail" || e.event === "retry-wait" || e.event === "expire" || e.event === "reap") {
      const code = e.code ?? "UNKNOWN";
      this.#counts.failures[code] = (this.#counts.failures[code] ?? 0) + 1;
    }
  }
}
