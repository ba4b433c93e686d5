/**
 * The in-process transport: the worker loop calls the worker service and engine directly — no
 * serialisation, no sockets — but through the same protocol as a remote worker (registration, drain,
 * heartbeats), so the local pool shows up in GET /api/v1/workers and can be drained like any other.
 */
import { SYSTEM_PRINCIPAL } from "../auth/principal.ts";
import { Batcher } from "../core/batcher.ts";
import type { Claim } from "../core/job.ts";
import { sleep } from "../core/sleep.ts";
import type { Engine } from "../engine/engine.ts";
import type { WorkerService } from "../engine/worker-service.ts";
import type { CompleteInput, FailInput, LeaseId, LeaseRef, LogChunk } from "../store/store.ts";
import type { PollArgs, WorkerIdentity, WorkerTransport } from "./transport.ts";

export class LocalTransport implements WorkerTransport {
  readonly #engine: Engine;
  readonly #workers: WorkerService;
  readonly #onError: (err: unknown) => void;
  #identity: WorkerIdentity | null = null;
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #logs: Batcher<LogChunk, undefined>;
  #progress = new Map<string, LeaseId & { progress: number }>();
  #progressTimer: NodeJS.Timeout | null = null;
  /** Reports of this tick, handed to the engine together (one call, one promise, per tick). */
  #completed: CompleteInput[] = [];
  #failed: FailInput[] = [];
  #reportScheduled = false;

  constructor(engine: Engine, workers: WorkerService, onError: (err: unknown) => void) {
    this.#engine = engine;
    this.#workers = workers;
    this.#onError = onError;
    this.#logs = new Batcher<LogChunk, undefined>({
      maxWaitMs: 20,
      maxBatch: 500,
      flush: async (chunks) => {
        await this.#engine.appendLogs(chunks);
        return chunks.map(() => undefined);
      },
    });
  }

  async register(identity: WorkerIdentity): Promise<{ heartbeatMs: number }> {
    this.#identity = identity;
    await this.#workers.register(
      {
        id: identity.workerId,
        labels: identity.labels,
        capacity: identity.capacity,
        types: identity.types,
        queues: identity.queues,
        version: null,
        instance: identity.instance ?? null,
      },
      SYSTEM_PRINCIPAL,
    );
    return { heartbeatMs: this.#workers.heartbeatMs };
  }

  async poll(args: PollArgs): Promise<Claim[]> {
    const { jobs, drain } = await this.#workers.poll(this.#identity!.workerId, args, SYSTEM_PRINCIPAL);
    // A drained pool idles instead of spinning; the heartbeat keeps its registration fresh.
    if (drain) await sleep(Math.min(args.waitMs, 1000), args.signal);
    return jobs;
  }

  complete(item: CompleteInput): void {
    this.#completed.push(item);
    this.#scheduleReports();
  }

  fail(item: FailInput): void {
    this.#failed.push(item);
    this.#scheduleReports();
  }

  #scheduleReports(): void {
    if (this.#reportScheduled) return;
    this.#reportScheduled = true;
    queueMicrotask(() => this.#sendReports());
  }

  // Logs go first, so that whoever follows a job's log and stops at its end has every line.
  #sendReports(): void {
    this.#reportScheduled = false;
    const completed = this.#completed;
    const failed = this.#failed;
    this.#completed = [];
    this.#failed = [];
    // A job's last progress goes before its end: written after it, the report finds the job no longer
    // running and is dropped, so a handler's progress(100) just before it returns was lost.
    // A failed progress write (already reported by #track) must not hold the end back.
    const progress = this.#flushProgress()?.catch(() => undefined);
    const after = <T>(fn: () => Promise<T>) => this.#afterLogs(progress ? () => progress.then(fn) : fn);
    if (completed.length > 0) this.#track(after(() => this.#engine.complete(completed)));
    if (failed.length > 0) this.#track(after(() => this.#engine.fail(failed)));
  }

  #afterLogs<T>(fn: () => Promise<T>): Promise<T> {
    return this.#logs.pending === 0 ? fn() : this.#logs.drain().then(fn);
  }

  async release(items: LeaseRef[]): Promise<void> {
    await this.#engine.release(items);
  }

  // The running count is the leases renewed here (running and prefetched, as a remote worker counts
  // them): the count of the last poll is stale once a full pool stops polling.
  async heartbeat(leases: LeaseId[]): Promise<string[]> {
    const { abort } = await this.#workers.heartbeat(
      this.#identity!.workerId,
      leases,
      leases.length,
      SYSTEM_PRINCIPAL,
    );
    return abort;
  }

  log(chunk: LogChunk): void {
    this.#track(this.#logs.add(chunk));
  }

  progress(lease: LeaseId, percent: number): void {
    // Only the latest value per job matters; write at most every 100 ms.
    this.#progress.set(lease.jobId, { ...lease, progress: percent });
    if (this.#progressTimer) return;
    this.#progressTimer = setTimeout(() => this.#flushProgress(), 100);
  }

  /** Writes the pending progress now; the write, when there was any, for callers that must follow it. */
  #flushProgress(): Promise<void> | null {
    if (this.#progressTimer) clearTimeout(this.#progressTimer);
    this.#progressTimer = null;
    const items = [...this.#progress.values()];
    this.#progress = new Map();
    if (items.length === 0) return null;
    const written = this.#engine.progress(items);
    this.#track(written);
    return written;
  }

  onCancel(fn: (jobIds: string[]) => void): () => void {
    return this.#engine.bus.subscribe("cancelled", (e) => fn(e.jobIds));
  }

  async flush(): Promise<void> {
    if (this.#reportScheduled) this.#sendReports();
    if (this.#progressTimer) this.#flushProgress();
    await this.#logs.drain();
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  async close(): Promise<void> {
    await this.flush();
  }

  #track(p: Promise<unknown>): void {
    this.#inflight.add(p);
    p.catch(this.#onError).finally(() => this.#inflight.delete(p));
  }
}
