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

interface Pending<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class Batcher<T, R> {
  readonly #flush: (items: T[]) => Promise<R[]>;
  readonly #maxWaitMs: number;
  readonly #maxBatch: number;
  #queue: Pending<T, R>[] = [];
  #scheduled = false;
  #running: Promise<void> | null = null;

  constructor(opts: BatcherOptions<T, R>) {
    this.#flush = opts.flush;
    this.#maxWaitMs = opts.maxWaitMs ?? 0;
    this.#maxBatch = opts.maxBatch ?? 1000;
  }

  get pending(): number {
    return this.#queue.length;
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  addMany(items: T[]): Promise<R[]> {
    return Promise.all(items.map((i) => this.add(i)));
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
    const batch = this.#queue.splice(0, this.#maxBatch);
    const done = (async () => {
      try {
        const results = await this.#flush(batch.map((p) => p.item));
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i] as R);
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
