/**
 * The engine: the one place where job state changes are decided and announced. API routes, the SDK and
 * worker transports call it; it calls the store (batched), publishes events on the bus, and runs the
 * reaper. It holds no copy of the job table: memory does not grow with the number of jobs.
 */
import type { Logger } from "pino";
import type { EventBus } from "../cluster/event-bus.ts";
import { Batcher } from "../core/batcher.ts";
import type { Clock } from "../core/clock.ts";
import { BosunError } from "../core/errors.ts";
import type { Claim, Job, JobState, NewJob } from "../core/job.ts";
import type { AuditEntry } from "../store/identity-store.ts";
import type {
  ChangeOutcome,
  CompleteInput,
  EnqueueOutcome,
  FailInput,
  FinishOutcome,
  JobQuery,
  LeaseId,
  LeaseRef,
  LogChunk,
  PeerWorker,
  Store,
} from "../store/store.ts";
import { Dispatcher, type PollRequest } from "./dispatcher.ts";
import type { FeedHub } from "./feed-hub.ts";
import { type JobInput, normalizeJob } from "./job-input.ts";
import { LogCap } from "./log-cap.ts";
import { splitByResultSize } from "./result-limit.ts";
import { ThroughputMeter } from "./throughput.ts";
import { TypeCatalog } from "./type-catalog.ts";

export interface EngineOptions {
  store: Store;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  leaseMs: number;
  reapIntervalMs: number;
  maxPayloadBytes: number;
  /** Per-job log cap over all attempts (engine/log-cap.ts); default 8 MiB. */
  maxJobLogBytes?: number;
  /** Largest result an attempt stores (engine/result-limit.ts); default 1 MiB. */
  maxResultBytes?: number;
  /** Most types an UNKNOWN_JOB_TYPE error lists; default 50. */
  maxListedTypes?: number;
}

export interface EnqueueContext {
  owner: string;
  scheduleId?: string | null;
  scheduledTime?: number | null;
}

/**
 * The audit entry of an enqueue, made once the jobs have their ids (a single job is its entry's target);
 * the store adds how many were created and their ids (Store.enqueue).
 */
export type EnqueueAudit = (jobs: NewJob[]) => AuditEntry;

/** Called with every batch of jobs that reached a terminal status (alerts, schedules, metrics). */
export type FinishListener = (jobs: JobState[]) => void;

export class Engine {
  readonly store: Store;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly catalog: TypeCatalog;
  readonly throughput = new ThroughputMeter();
  readonly #o: EngineOptions;
  readonly #logCap: LogCap;
  readonly #dispatcher: Dispatcher;
  readonly #finishListeners = new Set<FinishListener>();
  readonly #completeBatch: Batcher<CompleteInput, FinishOutcome>;
  readonly #failBatch: Batcher<FailInput, FinishOutcome>;
  #reaper: NodeJS.Timeout | null = null;
  #typeSource: (() => Promise<string[]>) | null = null;
  #typesRefreshedAt = 0;
  #reaping = false;

  constructor(opts: EngineOptions) {
    this.#o = opts;
    this.catalog = new TypeCatalog({ maxListed: opts.maxListedTypes ?? 50 });
    this.#logCap = new LogCap(opts.maxJobLogBytes ?? 8 * 1024 * 1024, (ids) => opts.store.logBytes(ids));
    this.store = opts.store;
    this.bus = opts.bus;
    this.clock = opts.clock;
    this.#dispatcher = new Dispatcher({
      store: opts.store,
      bus: opts.bus,
      clock: opts.clock,
      leaseMs: opts.leaseMs,
      onError: (err) => opts.logger.error({ err }, "dispatch failed"),
    });
    // Reports from many workers arriving in the same tick share one transaction.
    this.#completeBatch = new Batcher({
      flush: async (items) => this.#announce(await this.store.complete(items, this.clock.now())),
    });
    this.#failBatch = new Batcher({
      flush: async (items) => this.#announce(await this.store.fail(items, this.clock.now())),
    });
  }

  /** Ends a worker's long-polls on this node at once (drain). */
  dropWaiters(workerId: string): void {
    this.#dispatcher.dropWaiters(workerId);
  }

  /** Workers waiting in a long-poll on this node. */
  get waiting(): number {
    return this.#dispatcher.waiting;
  }

  get leaseMs(): number {
    return this.#o.leaseMs;
  }

  /**
   * Where to learn job types this node did not see register (remote workers of other nodes). Consulted
   * when an enqueue names an unknown type, at most once a second.
   */
  setTypeSource(source: () => Promise<string[]>): void {
    this.#typeSource = source;
  }

  /**
   * On a shared store, what other nodes changed reaches this one through the change feed (the rows are
   * the truth; the bus is this process's fast path): jobs that became ready wake the waiting workers, a
   * job scheduled for later re-arms the timer, and a running job cancelled elsewhere is aborted here.
   */
  followFeed(feed: FeedHub): () => void {
    return feed.subscribe((events) => {
      let ready = false;
      let scheduled = false;
      const cancelled: string[] = [];
      for (const e of events) {
        if (e.to === "queued") ready = true;
        else if (e.to === "scheduled") scheduled = true;
        else if (e.event === "cancel" && e.from === "running") cancelled.push(e.jobId);
      }
      if (ready) this.#dispatcher.wake();
      if (scheduled) this.#dispatcher.rearm();
      if (cancelled.length > 0) this.bus.publish({ type: "cancelled", jobIds: cancelled });
    });
  }

  /** Where to learn the workers of other nodes, whom placement weighs too (engine/peer-workers.ts). */
  setPeerSource(source: () => Promise<PeerWorker[]>): void {
    this.#dispatcher.setPeerSource(source);
  }

  async #refreshTypes(now: number): Promise<void> {
    if (!this.#typeSource || now - this.#typesRefreshedAt < 1000) return;
    this.#typesRefreshedAt = now;
    for (const t of await this.#typeSource()) this.catalog.add(t);
  }

  onFinish(listener: FinishListener): () => void {
    this.#finishListeners.add(listener);
    return () => this.#finishListeners.delete(listener);
  }

  // ── Enqueue ────────────────────────────────────────────────────────────────────────────────────

  /** Inputs must already match JobInputSchema (the API validated them; the SDK calls assertJobInput). */
  enqueue(inputs: JobInput[], ctx: EnqueueContext, audit?: EnqueueAudit): Promise<EnqueueOutcome[]> {
    return this.enqueueEntries(
      inputs.map((input) => ({ input, ctx })),
      audit,
    );
  }

  /** Enqueues jobs with a context each (the scheduler's fires: one schedule and fire time per job). */
  async enqueueEntries(
    entries: { input: JobInput; ctx: EnqueueContext }[],
    audit?: EnqueueAudit,
  ): Promise<EnqueueOutcome[]> {
    const now = this.clock.now();
    if (this.#typeSource && entries.some((e) => !this.catalog.has(e.input.type)))
      await this.#refreshTypes(now);
    const jobs = entries.map(({ input, ctx }, i) => {
      this.catalog.check(input.type, input.payload ?? null, entries.length > 1 ? `/jobs/${i}` : "");
      return normalizeJob(input, {
        owner: ctx.owner,
        now,
        maxPayloadBytes: this.#o.maxPayloadBytes,
        scheduleId: ctx.scheduleId ?? null,
        scheduledTime: ctx.scheduledTime ?? null,
      });
    });
    const outcomes = await this.store.enqueue(jobs, now, audit?.(jobs));
    this.#announceEnqueued(outcomes, now);
    return outcomes;
  }

  #announceEnqueued(outcomes: EnqueueOutcome[], now: number): void {
    let ready = false;
    let soonest = Number.POSITIVE_INFINITY;
    const created: JobState[] = [];
    for (const o of outcomes) {
      if (!o.created) continue;
      created.push(o.job);
      if (o.job.status === "queued") ready = true;
      else if (o.job.status === "scheduled") soonest = Math.min(soonest, o.job.runAt);
    }
    if (created.length > 0) this.bus.publish({ type: "jobs", jobs: created });
    if (ready) this.bus.publish({ type: "ready" });
    if (soonest !== Number.POSITIVE_INFINITY)
      this.bus.publish({ type: "scheduled", runAt: Math.max(soonest, now) });
  }

  // ── Worker protocol ────────────────────────────────────────────────────────────────────────────

  async poll(req: PollRequest): Promise<Claim[]> {
    const claims = await this.#dispatcher.poll(req);
    if (claims.length > 0) this.bus.publish({ type: "started", claims, at: this.clock.now() });
    return claims;
  }

  async complete(items: CompleteInput[]): Promise<FinishOutcome[]> {
    const { fits, tooLarge } = splitByResultSize(items, this.#o.maxResultBytes ?? 1024 * 1024);
    if (tooLarge.length === 0) return this.#completeBatch.addMany(fits.map((f) => f.item));
    const [done, failed] = await Promise.all([
      this.#completeBatch.addMany(fits.map((f) => f.item)),
      this.#failBatch.addMany(tooLarge.map((f) => f.item)),
    ]);
    const outcomes: FinishOutcome[] = new Array(items.length);
    for (const [i, f] of fits.entries()) outcomes[f.index] = done[i]!;
    for (const [i, f] of tooLarge.entries()) outcomes[f.index] = failed[i]!;
    return outcomes;
  }

  fail(items: FailInput[]): Promise<FinishOutcome[]> {
    return this.#failBatch.addMany(items);
  }

  async release(items: LeaseRef[]): Promise<FinishOutcome[]> {
    const out = await this.store.release(items, this.clock.now());
    this.#announce(out);
    return out;
  }

  /** Renews a worker's leases; returns the ids it must stop running (cancelled or taken away). */
  heartbeat(workerId: string, leases: LeaseId[]): Promise<string[]> {
    const now = this.clock.now();
    return this.store.heartbeat(workerId, leases, now + this.#o.leaseMs, now);
  }

  async progress(items: (LeaseId & { progress: number })[]): Promise<void> {
    await this.store.setProgress(items, this.clock.now());
    for (const p of items) this.bus.publish({ type: "progress", jobId: p.jobId, progress: p.progress });
  }

  /** Largest payload a job (or a schedule's job template) may carry, in bytes of JSON. */
  get maxPayloadBytes(): number {
    return this.#o.maxPayloadBytes;
  }

  async appendLogs(all: LogChunk[]): Promise<void> {
    const chunks = await this.#logCap.admit(all);
    if (chunks.length === 0) return;
    await this.store.appendLogs(chunks);
    const seen = new Set<string>();
    for (const c of chunks) {
      if (seen.has(c.jobId)) continue;
      seen.add(c.jobId);
      this.bus.publish({ type: "log", jobId: c.jobId });
    }
  }

  /** Fails at once the attempts of workers known to be dead (e.g. this node's pool before a restart). */
  async reapWorkers(workerIds: string[], code: string): Promise<JobState[]> {
    const jobs = await this.store.reapWorkers(workerIds, code, this.clock.now());
    this.#announce(jobs.map((job) => ({ ok: true, job })));
    return jobs;
  }

  // ── Management ─────────────────────────────────────────────────────────────────────────────────

  async get(id: string): Promise<Job> {
    const job = await this.store.getJob(id);
    if (!job) throw new BosunError("JOB_NOT_FOUND", `No job has the id ${id}`);
    return job;
  }

  list(query: JobQuery): Promise<Job[]> {
    return this.store.listJobs(query);
  }

  /** `audit`: the entry of a caller's request (JobAccess), written with the change when it takes effect. */
  async cancel(id: string, audit?: AuditEntry): Promise<Job> {
    const outcome = await this.store.cancel(id, this.clock.now(), audit);
    const wasRunning = outcome.ok && outcome.job.workerId !== null && outcome.job.startedAt !== null;
    const job = this.#change(outcome, id, "cancel");
    if (wasRunning) this.bus.publish({ type: "cancelled", jobIds: [id] });
    return job;
  }

  async retry(id: string, audit?: AuditEntry): Promise<Job> {
    const job = this.#change(await this.store.retry(id, this.clock.now(), audit), id, "retry");
    this.bus.publish({ type: "ready" });
    return job;
  }

  #change(outcome: ChangeOutcome, id: string, verb: string): Job {
    if (outcome.ok) {
      this.bus.publish({ type: "jobs", jobs: [outcome.job] });
      if (outcome.job.status === "cancelled") this.#notifyFinished([outcome.job]);
      return outcome.job;
    }
    if (outcome.reason === "not_found") throw new BosunError("JOB_NOT_FOUND", `No job has the id ${id}`);
    throw new BosunError("INVALID_STATE", `Cannot ${verb} a job that is ${outcome.job?.status}`, {
      status: outcome.job?.status,
    });
  }

  // ── Background: reaper ─────────────────────────────────────────────────────────────────────────

  /** Starts the singleton loops. In a cluster only the leader calls this (cluster/leadership.ts). */
  startReaper(): void {
    if (this.#reaper) return;
    this.#reaper = setInterval(() => void this.reapOnce(), this.#o.reapIntervalMs);
    this.#reaper.unref();
  }

  stopReaper(): void {
    if (this.#reaper) clearInterval(this.#reaper);
    this.#reaper = null;
  }

  async reapOnce(): Promise<number> {
    if (this.#reaping) return 0;
    this.#reaping = true;
    try {
      const jobs = await this.store.reapExpired(this.clock.now(), 1000);
      if (jobs.length > 0) {
        this.#o.logger.warn({ count: jobs.length }, "leases expired; attempts failed and retried");
        this.#announce(jobs.map((job) => ({ ok: true, job })));
      }
      return jobs.length;
    } catch (err) {
      this.#o.logger.error({ err }, "reaper failed");
      return 0;
    } finally {
      this.#reaping = false;
    }
  }

  async close(): Promise<void> {
    this.stopReaper();
    await this.#completeBatch.drain();
    await this.#failBatch.drain();
    await this.#dispatcher.close();
  }

  /** Publishes the state changes of a finish batch and wakes whoever must act on them. */
  #announce(outcomes: FinishOutcome[]): FinishOutcome[] {
    const changed: JobState[] = [];
    const finished: JobState[] = [];
    let ready = false;
    let soonest = Number.POSITIVE_INFINITY;
    for (const o of outcomes) {
      if (!o.ok) continue;
      changed.push(o.job);
      const s = o.job.status;
      if (s === "completed" || s === "failed" || s === "cancelled") finished.push(o.job);
      else if (s === "queued") ready = true;
      else if (s === "scheduled") soonest = Math.min(soonest, o.job.runAt);
    }
    if (changed.length > 0) this.bus.publish({ type: "jobs", jobs: changed });
    if (ready) this.bus.publish({ type: "ready" });
    if (soonest !== Number.POSITIVE_INFINITY) this.bus.publish({ type: "scheduled", runAt: soonest });
    if (finished.length > 0) this.#notifyFinished(finished);
    return outcomes;
  }

  #notifyFinished(jobs: JobState[]): void {
    this.throughput.record(jobs.length, this.clock.now());
    for (const l of this.#finishListeners) {
      try {
        l(jobs);
      } catch (err) {
        this.#o.logger.error({ err }, "finish listener failed");
      }
    }
  }
}
