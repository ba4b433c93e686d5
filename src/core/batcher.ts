/**
 * Coalesces many small calls into one batched call: the tool behind "one transaction per batch".
 * Items added in the same tick (or within `maxWaitMs`) are flushed together; each caller gets its own
 * result back. At most one flush runs at a time so batches grow under load instead of piling up.
 */

export interface BatcherOptions<T, R> {
  flush: (items: T[]) => Promise<R[]>;
  /** 0 = flush on the next macrotask (setImmediate). */
  maxWaitMs?: number;
  maxBatch?: number;
}

/** One caller's items: a call, not an item, is the unit queued, so a call of 500 costs one promise. */
interface Pending<T, R> {
  items: T[];
  resolve: (r: R[]) => void;
  reject: (e: unknown) => void;
}

export class Batcher<T, R> {
  readonly #flush: (items: T[]) => Promise<R[]>;
  readonly #maxWaitMs: number;
  readonly #maxBatch: number;
  #queue: Pending<T, R>[] = [];
  #queued = 0;
  #scheduled = false;
  #running: Promise<void> | null = null;

  constructor(opts: BatcherOptions<T, R>) {
    this.#flush = opts.flush;
    this.#maxWaitMs = opts.maxWaitMs ?? 0;
    this.#maxBatch = opts.maxBatch ?? 1000;
  }

  /** Items waiting for a flush. */
  get pending(): number {
    return this.#queued;
  }

  async add(item: T): Promise<R> {
    return (await this.addMany([item]))[0] as R;
  }

  addMany(items: T[]): Promise<R[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<R[]>((resolve, reject) => {
      this.#queue.push({ items, resolve, reject });
      this.#queued += items.length;
      this.#schedule();
    });
  }

  /** Flushes everything queued now and waits for it. */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#running) {
      if (this.#running) await this.#running;
      else await this.#run();
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    const go = () => {
      this.#scheduled = false;
      void this.#run();
    };
    if (this.#maxWaitMs > 0) setTimeout(go, this.#maxWaitMs);
    else setImmediate(go);
  }

  async #run(): Promise<void> {
    if (this.#running || this.#queue.length === 0) return;
    // Whole calls, up to maxBatch items (a single larger call goes alone).
    let n = 0;
    let calls = 0;
    while (
      calls < this.#queue.length &&
      (calls === 0 || n + this.#queue[calls]!.items.length <= this.#maxBatch)
    )
      n += this.#queue[calls++]!.items.length;
    const batch = this.#queue.splice(0, calls);
    this.#queued -= n;
    const done = (async () => {
      try {
        const results = await this.#flush(
          batch.length === 1 ? batch[0]!.items : batch.flatMap((p) => p.items),
        );
        let at = 0;
        for (const p of batch) {
          p.resolve(results.slice(at, at + p.items.length));
          at += p.items.length;
        }
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    })();
    this.#running = done;
    await done;
    this.#running = null;
    if (this.#queue.length > 0) this.#schedule();
  }
}
