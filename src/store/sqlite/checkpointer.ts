/**
 * WAL checkpoints off the writer's thread. A checkpoint copies the WAL's pages into the database file and
 * fsyncs it; with SQLite's default autocheckpoint the commit that crosses the threshold does that work
 * inline, stalling the event loop — a third of the embedded drain benchmark's time (docs/benchmarks.md).
 * The writer turns autocheckpoint down to a far threshold (a backstop should this thread die) and this
 * thread checkpoints every few milliseconds on its own connection, on the machine's other core.
 */
import { once } from "node:events";
import { Worker } from "node:worker_threads";

// The thread's file is a sibling of this one with the same extension: .ts in the repository (type
// stripping), .js in the published package (compiled into dist/; the build does not rewrite URLs).
const THREAD_URL = new URL(
  `./checkpoint-thread${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`,
  import.meta.url,
);

export interface CheckpointerOptions {
  file: string;
  synchronous: "NORMAL" | "FULL";
  intervalMs?: number;
  onError?: (message: string) => void;
}

/** WAL pages (4 KiB) after which the writer checkpoints itself if the thread is gone: ~256 MiB. */
export const BACKSTOP_WAL_PAGES = 65_536;

export class Checkpointer {
  readonly #worker: Worker;
  #stopped: Promise<void> | null = null;

  constructor(opts: CheckpointerOptions) {
    this.#worker = new Worker(THREAD_URL, {
      workerData: { file: opts.file, synchronous: opts.synchronous, intervalMs: opts.intervalMs ?? 20 },
    });
    // Housekeeping must not keep a process alive that has nothing else to do.
    this.#worker.unref();
    this.#worker.on("message", (m: unknown) => {
      if (typeof m === "object" && m !== null && "error" in m) opts.onError?.(String(m.error));
    });
    this.#worker.on("error", (err) => opts.onError?.(String(err)));
  }

  /** Closes the thread's connection before the writer's, so the writer's close can fold the WAL in. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      const stopped = once(this.#worker, "message");
      this.#worker.postMessage("stop");
      await Promise.race([stopped, once(this.#worker, "exit")]);
      await this.#worker.terminate();
    })();
    return this.#stopped;
  }
}
