/**
 * Embedding Bosun in an application:
 *
 *   const bosun = await Bosun.open({ data: "./.bosun" });     // or { db: "postgres://…" }
 *   bosun.define("email.send", async (job, ctx) => { … });
 *   await bosun.start({ concurrency: 10 });
 *   const job = await bosun.enqueue({ type: "email.send", payload: { to } });
 *   const done = await bosun.wait(job.id);                  // completed, failed or cancelled
 *   await bosun.stop();
 *
 * Same engine, store and worker loop as the server; no HTTP involved.
 */
import type { Logger } from "pino";
import { type Config, loadConfig } from "../config/config.ts";
import type { Clock } from "../core/clock.ts";
import { isTerminal, type Job } from "../core/job.ts";
import { assertJobInput, type JobInput } from "../engine/job-input.ts";
import type { Handler } from "../executors/handler.ts";
import { Runtime } from "../runtime/runtime.ts";

/**
 * How often wait() re-reads a job besides being woken by this process's events: a job finished by another
 * node of a PostgreSQL cluster raises no event here (the bus carries only what nodes must act on).
 */
const WAIT_SWEEP_MS = 1000;

export interface OpenOptions {
  /** Data folder for SQLite (default ./.bosun). */
  data?: string;
  /** postgres://… to use PostgreSQL. */
  db?: string;
  /** PostgreSQL schema (default "bosun"). */
  schema?: string;
  /** Any other configuration key (see config/config.ts). */
  config?: Partial<Config>;
  logger?: Logger;
  clock?: Clock;
  /** Owner recorded on jobs enqueued through this instance (default "local"). */
  owner?: string;
}

export class Bosun {
  readonly runtime: Runtime;
  readonly #owner: string;

  private constructor(runtime: Runtime, owner: string) {
    this.runtime = runtime;
    this.#owner = owner;
  }

  static async open(opts: OpenOptions = {}): Promise<Bosun> {
    const config = loadConfig({
      env: {},
      flags: {
        logLevel: "warn",
        ...opts.config,
        ...(opts.data !== undefined ? { dataDir: opts.data } : {}),
        ...(opts.db !== undefined ? { db: opts.db } : {}),
        ...(opts.schema !== undefined ? { dbSchema: opts.schema } : {}),
      },
    });
    const runtime = await Runtime.open({ config, logger: opts.logger, clock: opts.clock });
    return new Bosun(runtime, opts.owner ?? "local");
  }

  /** Registers a handler for a job type. Define before start(): the pool advertises its types then. */
  define<P = unknown, R = unknown>(type: string, handler: Handler<P, R>): this {
    this.runtime.define(type, handler as Handler);
    return this;
  }

  async enqueue(job: JobInput): Promise<Job> {
    assertJobInput(job);
    const [outcome] = await this.runtime.engine.enqueue([job], { owner: this.#owner });
    return outcome!.job;
  }

  async enqueueMany(jobs: JobInput[]): Promise<Job[]> {
    for (const [i, job] of jobs.entries()) assertJobInput(job, `/${i}`);
    const outcomes = await this.runtime.engine.enqueue(jobs, { owner: this.#owner });
    return outcomes.map((o) => o.job);
  }

  getJob(id: string): Promise<Job> {
    return this.runtime.engine.get(id);
  }

  cancel(id: string): Promise<Job> {
    return this.runtime.engine.cancel(id);
  }

  retry(id: string): Promise<Job> {
    return this.runtime.engine.retry(id);
  }

  /**
   * Resolves with the job once it is completed, failed or cancelled (its `result` or `error` set). Woken
   * by the job's own state change, so a short job returns at once. Rejects with `signal.reason` when
   * the signal aborts: `{ signal: AbortSignal.timeout(10_000) }` gives up after 10 s.
   */
  async wait(id: string, opts: { signal?: AbortSignal } = {}): Promise<Job> {
    let wake = (): void => {};
    let ended = false;
    const off = this.runtime.engine.bus.subscribe("jobs", (e) => {
      if (!e.jobs.some((j) => j.id === id && isTerminal(j.status))) return;
      ended = true;
      wake();
    });
    try {
      for (;;) {
        opts.signal?.throwIfAborted();
        // Cleared before the read: an end published after it wakes the pause; one before it is in it.
        ended = false;
        const job = await this.getJob(id);
        if (isTerminal(job.status)) return job;
        if (ended) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, WAIT_SWEEP_MS);
          opts.signal?.addEventListener("abort", done, { once: true });
          wake = done;
          function done(): void {
            clearTimeout(timer);
            opts.signal?.removeEventListener("abort", done);
            resolve();
          }
        });
      }
    } finally {
      off();
    }
  }

  /** Starts the worker pool (and the lease reaper) in this process. */
  async start(opts: { concurrency?: number } = {}): Promise<void> {
    await this.runtime.recoverOwnJobs();
    await this.runtime.startLeadership();
    await this.runtime.startPool(opts.concurrency ?? this.runtime.config.concurrency);
  }

  /** Lets running jobs finish (up to graceMs), releases the rest, and closes the store. */
  async stop(graceMs?: number): Promise<void> {
    await this.runtime.close(graceMs);
  }
}
