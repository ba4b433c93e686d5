/**
 * The worker loop, shared by the local pool and remote workers: keep `capacity` attempts running, pull
 * more when slots free up, renew leases by heartbeat, enforce hard timeouts, abort cancelled jobs, and on
 * stop let running attempts finish within a grace period and give the rest back.
 *
 * I/O is the transport (worker/transport.ts) and the executors, both passed in, so the loop is testable.
 */
import type { Logger } from "pino";
import { JobFailure } from "../core/errors.ts";
import type { Claim } from "../core/job.ts";
import type { ExecContext, ExecOutcome, Executor } from "../executors/executor.ts";
import type { LeaseRef } from "../store/store.ts";
import { AbortKind, abortKind, attemptAbort } from "./abort.ts";
import { AttemptDirs } from "./attempt-dirs.ts";
import { PrefetchBuffer } from "./prefetch.ts";
import type { WorkerIdentity, WorkerTransport } from "./transport.ts";

export interface WorkerLoopOptions {
  identity: WorkerIdentity;
  transport: WorkerTransport;
  executors: ReadonlyMap<string, Executor>;
  logger: Logger;
  /** Root of the attempts' working directories. */
  workRoot: string;
  /** Heartbeat period when the transport does not prescribe one. */
  heartbeatMs?: number;
  /** Long-poll duration of one poll. */
  pollWaitMs?: number;
  /** Bytes of log kept per attempt; the rest is dropped with a notice. */
  maxLogBytes?: number;
  /** Claims held beyond capacity while jobs are short (prefetch.ts). Default and most: twice the capacity. */
  prefetch?: number;
}

interface Running {
  claim: Claim;
  controller: AbortController;
  timer: NodeJS.Timeout | null;
  done: Promise<void>;
  /** Ends the attempt's wait for its executor at once (see #abort). */
  interrupt: ((reason: unknown) => void) | null;
}

const DEFAULT_MAX_LOG_BYTES = 8 * 1024 * 1024;

export class WorkerLoop {
  readonly #o: WorkerLoopOptions;
  readonly #running = new Map<string, Running>();
  readonly #dirs: AttemptDirs;
  readonly #held: PrefetchBuffer;
  #stopping = false;
  #pollAbort = new AbortController();
  /** Resolves the loop's wait: a slot freed, a poll ended, or stop. */
  #wake: (() => void) | null = null;
  readonly #polls = new Set<Promise<void>>();
  /** Slots asked for by the polls in flight. */
  #requested = 0;
  #lastFound = 0;
  #failures = 0;
  #backoffUntil = 0;
  #loop: Promise<void> | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #unsubscribeCancel: (() => void) | null = null;

  constructor(opts: WorkerLoopOptions) {
    this.#o = opts;
    this.#dirs = new AttemptDirs(opts.workRoot);
    const capacity = opts.identity.capacity;
    this.#held = new PrefetchBuffer({ limit: Math.min(opts.prefetch ?? 2 * capacity, 2 * capacity) });
  }

  get running(): number {
    return this.#running.size;
  }

  get capacity(): number {
    return this.#o.identity.capacity;
  }

  async start(): Promise<void> {
    const { heartbeatMs } = await this.#o.transport.register(this.#o.identity);
    this.#unsubscribeCancel = this.#o.transport.onCancel((ids) => {
      for (const id of ids) {
        this.#held.drop(id);
        this.#abort(this.#running.get(id), AbortKind.Cancelled);
      }
    });
    this.#heartbeat = setInterval(() => void this.#beat(), heartbeatMs || this.#o.heartbeatMs || 5000);
    this.#loop = this.#run();
  }

  /** Stops pulling, lets running attempts finish within `graceMs`, then aborts and releases the rest. */
  async stop(graceMs: number): Promise<void> {
    if (this.#stopping) return this.#loop ?? undefined;
    this.#stopping = true;
    this.#pollAbort.abort();
    this.#wake?.();
    await this.#loop;
    await this.#release(this.#held.takeStale(Date.now(), true));
    if (this.#running.size > 0) {
      const all = Promise.all([...this.#running.values()].map((r) => r.done));
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([all, grace]);
      clearTimeout(timer);
    }
    const left = [...this.#running.values()];
    for (const r of left) this.#abort(r, AbortKind.Shutdown);
    await Promise.all(left.map((r) => r.done));
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#unsubscribeCancel?.();
    await this.#o.transport.flush();
  }

  /**
   * Keeps claims coming: one poll (a long-poll when nothing is held) for the free slots plus what the
   * prefetch wants, and, while jobs are short and the last poll found work, a second one that does not
   * wait — so the server claims the next batch while this worker runs the current one.
   */
  async #run(): Promise<void> {
    const { identity } = this.#o;
    while (!this.#stopping) {
      this.#fillSlots();
      const have = this.#running.size + this.#held.size + this.#requested;
      const wanted = identity.capacity + this.#held.extra - have;
      const mayPoll =
        this.#polls.size === 0 || (this.#polls.size === 1 && this.#held.extra > 0 && this.#lastFound > 0);
      if (wanted > 0 && mayPoll && this.#backoffUntil <= Date.now()) {
        // While prefetching, each poll asks for at most two capacities' worth, so two can be in flight.
        this.#poll(
          this.#held.extra > 0 ? Math.min(wanted, 2 * identity.capacity) : wanted,
          this.#polls.size === 0,
        );
        continue;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        if (this.#backoffUntil > Date.now()) setTimeout(resolve, this.#backoffUntil - Date.now());
      });
      this.#wake = null;
      // Let the other attempts that finish in this tick free their slots too: one poll for all.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.allSettled(this.#polls);
  }

  #poll(slots: number, mayWait: boolean): void {
    this.#requested += slots;
    const p = this.#o.transport
      .poll({
        slots,
        running: this.#running.size + this.#held.size,
        waitMs: mayWait ? (this.#o.pollWaitMs ?? 30_000) : 0,
        signal: this.#pollAbort.signal,
      })
      .then(
        (claims) => {
          this.#failures = 0;
          this.#lastFound = claims.length;
          this.#held.push(claims, Date.now());
          // Start at once: a claim is "running" to everyone else from now on.
          this.#fillSlots();
        },
        (err) => {
          if (this.#stopping) return;
          this.#failures++;
          const delay = Math.min(30_000, 250 * 2 ** Math.min(this.#failures, 7));
          this.#backoffUntil = Date.now() + delay;
          this.#o.logger.warn({ err: String(err), retryInMs: delay }, "poll failed");
        },
      )
      .finally(() => {
        this.#requested -= slots;
        this.#polls.delete(p);
        this.#wake?.();
      });
    this.#polls.add(p);
  }

  #fillSlots(): void {
    while (!this.#stopping && this.#held.size > 0 && this.#running.size < this.#o.identity.capacity)
      this.#start(this.#held.shift()!);
  }

  async #release(claims: Claim[]): Promise<void> {
    if (claims.length === 0) return;
    await this.#o.transport
      .release(claims.map(leaseOf))
      .catch((e) => this.#o.logger.warn({ err: String(e) }, "release failed"));
  }

  #start(claim: Claim): void {
    const startedAt = performance.now();
    const controller = new AbortController();
    const running: Running = { claim, controller, timer: null, done: Promise.resolve(), interrupt: null };
    if (claim.timeoutMs !== null) {
      running.timer = setTimeout(() => this.#abort(running, AbortKind.Timeout), claim.timeoutMs);
    }
    this.#running.set(claim.id, running);
    running.done = this.#execute(running).finally(() => {
      if (running.timer) clearTimeout(running.timer);
      this.#running.delete(claim.id);
      this.#held.ran(performance.now() - startedAt);
      this.#fillSlots();
      this.#wake?.();
    });
  }

  /**
   * Aborts an attempt: the executor sees its signal fire, and the loop stops waiting for it at once
   * (a handler that ignores its signal cannot hold the slot). Every abort goes through here, which
   * spares each attempt an abort listener of its own.
   */
  #abort(running: Running | undefined, kind: AbortKind): void {
    if (!running || running.controller.signal.aborted) return;
    const reason = attemptAbort(kind);
    running.controller.abort(reason);
    running.interrupt?.(reason);
  }

  async #execute(running: Running): Promise<void> {
    const { claim } = running;
    const { signal } = running.controller;
    const { transport } = this.#o;
    const lease = leaseOf(claim);
    const executor = this.#o.executors.get(claim.type);
    if (!executor) {
      transport.fail({
        ...lease,
        error: { code: "UNKNOWN_JOB_TYPE", message: `This worker cannot run type "${claim.type}"` },
        retryable: true,
      });
      return;
    }
    const ctx = this.#context(claim, signal);
    try {
      const outcome = await new Promise<ExecOutcome>((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason);
        running.interrupt = reject;
        executor.run(claim, ctx).then(resolve, reject);
      });
      transport.complete({
        ...lease,
        result: outcome.result,
        exitCode: outcome.exitCode ?? null,
        httpStatus: outcome.httpStatus ?? null,
      });
    } catch (err) {
      const kind = signal.aborted ? abortKind(signal.reason) : null;
      if (kind === AbortKind.Cancelled || kind === AbortKind.Lost) return; // the server already knows
      if (kind === AbortKind.Shutdown) {
        await transport
          .release([lease])
          .catch((e) => this.#o.logger.warn({ err: String(e) }, "release failed"));
        return;
      }
      transport.fail({ ...lease, ...failureOf(err, kind, claim) });
    } finally {
      if (this.#dirs.holds(claim)) await this.#dirs.remove(claim);
    }
  }

  #context(claim: Claim, signal: AbortSignal): ExecContext {
    const { transport } = this.#o;
    const max = this.#o.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES;
    let bytes = 0;
    return {
      signal,
      log: (data, stream = "stdout") => {
        if (bytes > max) return;
        bytes += data.length;
        if (bytes > max) {
          transport.log({
            jobId: claim.id,
            at: Date.now(),
            stream: "system",
            data: `[log truncated at ${max} bytes]\n`,
          });
          return;
        }
        transport.log({ jobId: claim.id, at: Date.now(), stream, data });
      },
      progress: (percent) =>
        transport.progress({ jobId: claim.id, lease: claim.lease }, Math.max(0, Math.min(100, percent))),
      workDir: () => this.#dirs.create(claim),
    };
  }

  async #beat(): Promise<void> {
    await this.#release(this.#held.takeStale(Date.now()));
    const leases = [...[...this.#running.values()].map((r) => r.claim), ...this.#held.claims()].map((c) => ({
      jobId: c.id,
      lease: c.lease,
    }));
    try {
      const lost = await this.#o.transport.heartbeat(leases);
      for (const id of lost) {
        this.#held.drop(id);
        this.#abort(this.#running.get(id), AbortKind.Lost);
      }
    } catch (err) {
      this.#o.logger.warn({ err: String(err) }, "heartbeat failed; leases will expire if this goes on");
    }
  }
}

function failureOf(err: unknown, kind: AbortKind | null, claim: Claim) {
  if (kind === AbortKind.Timeout)
    return {
      error: { code: "TIMEOUT", message: `The attempt exceeded its timeout of ${claim.timeoutMs} ms` },
      retryable: true,
    };
  if (err instanceof JobFailure)
    return {
      error:
        err.details === undefined
          ? { code: err.code, message: err.message }
          : { code: err.code, message: err.message, details: err.details },
      retryable: err.retryable,
      exitCode: err.exitCode,
      httpStatus: err.httpStatus,
    };
  const e = err instanceof Error ? err : new Error(String(err));
  return { error: { code: "HANDLER_ERROR", message: e.message }, retryable: true };
}

/** The lease a claim gives its reports: the token identifies it, attempt and worker describe it. */
const leaseOf = (c: Claim): LeaseRef => ({
  jobId: c.id,
  lease: c.lease,
  attempt: c.attempt,
  workerId: c.workerId,
});
