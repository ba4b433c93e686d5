/**
 * The remote worker's transport: the public worker protocol over HTTP (docs/worker-protocol.md).
 * Reports are buffered and sent in batches (logs and progress before the results they precede); a batch
 * that cannot be delivered is kept and retried with backoff, so a server restart loses nothing — the
 * leases live in the database and the worker keeps the same id when it registers again.
 */
import type { Logger } from "pino";
import type { Claim } from "../core/job.ts";
import { sleep } from "../core/sleep.ts";
import type { OutboundPolicySpec } from "../outbound/outbound-policy.ts";
import type { Credentials } from "../sdk/client.ts";
import type { CompleteInput, FailInput, LeaseId, LeaseRef, LogChunk } from "../store/store.ts";
import type { PollArgs, WorkerIdentity, WorkerTransport } from "./transport.ts";

export interface HttpTransportOptions {
  /** One server URL, or several separated by commas: on a network error the worker moves to the next. */
  server: string;
  /** A worker key (bsn_…); or `credentials`, which can renew (the zero-set-up local admin session). */
  token?: string;
  credentials?: Credentials;
  logger: Logger;
  version?: string;
  /** Reports wait at most this long to be batched with others (ms). */
  batchMs?: number;
  /**
   * Called with the server's outbound policy (what http jobs may reach) on every registration, before
   * any job is claimed under it. A server that sends none leaves the worker's default (public only).
   */
  onHttpPolicy?: (policy: OutboundPolicySpec) => void;
}

interface WireClaim {
  id: string;
  attempt: number;
  lease: string;
  type: string;
  queue: string;
  payload: unknown;
  timeoutMs: number | null;
  maxAttempts: number;
  leaseExpiresAt: string;
  scheduledTime?: string | null;
}

interface Outbox {
  logs: LogChunk[];
  progress: Map<string, LeaseId & { progress: number }>;
  completed: Omit<CompleteInput, "workerId">[];
  failed: Omit<FailInput, "workerId">[];
  released: Omit<LeaseRef, "workerId">[];
}

const emptyOutbox = (): Outbox => ({
  logs: [],
  progress: new Map(),
  completed: [],
  failed: [],
  released: [],
});

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class HttpTransport implements WorkerTransport {
  readonly #o: HttpTransportOptions;
  readonly #bases: string[];
  #current = 0;
  #identity: WorkerIdentity | null = null;
  #outbox = emptyOutbox();
  #timer: NodeJS.Timeout | null = null;
  #sending: Promise<void> | null = null;
  #failures = 0;
  #running = 0;
  heartbeatMs = 5000;
  drain = false;

  constructor(opts: HttpTransportOptions) {
    this.#o = opts;
    this.#bases = opts.server
      .split(",")
      .map((u) => u.trim())
      .filter(Boolean)
      .map((u) => `${u.replace(/\/+$/, "")}/api/v1`);
  }

  /** The server this worker talks to now. */
  get server(): string {
    return this.#bases[this.#current]!.replace(/\/api\/v1$/, "");
  }

  async #call<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const token = this.#o.token ?? (await this.#o.credentials?.token()) ?? null;
    try {
      return await this.#callWith<T>(token, path, body, signal);
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 401 || !this.#o.credentials) throw err;
      const renewed = await this.#o.credentials.renew();
      if (renewed === null || renewed === token) throw err;
      return this.#callWith<T>(renewed, path, body, signal);
    }
  }

  async #callWith<T>(token: string | null, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await fetch(`${this.#bases[this.#current]}${path}`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal,
      });
    } catch (err) {
      // Unreachable: the next call goes to the next server (every node serves the whole API).
      if (!signal?.aborted) this.#current = (this.#current + 1) % this.#bases.length;
      throw err;
    }
    const text = await res.text();
    if (!res.ok) {
      let code = "HTTP_STATUS";
      let message = text.slice(0, 500);
      try {
        const e = JSON.parse(text).error;
        code = e.code;
        message = e.message;
      } catch {
        // not a Bosun error body
      }
      throw new HttpError(res.status, code, `${path}: ${res.status} ${code}: ${message}`);
    }
    return JSON.parse(text) as T;
  }

  /** Registers, retrying with backoff until the server answers (it may start after the worker). */
  async register(identity: WorkerIdentity): Promise<{ heartbeatMs: number }> {
    this.#identity = identity;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#register();
        return { heartbeatMs: this.heartbeatMs };
      } catch (err) {
        const delay = Math.min(5000, 200 * 2 ** Math.min(attempt, 5));
        if (attempt === 0 || attempt % 10 === 0)
          this.#o.logger.warn(
            { server: this.server, err: String(err), retryInMs: delay },
            "cannot register yet",
          );
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async #register(): Promise<void> {
    const id = this.#identity!;
    const res = await this.#call<{ heartbeatMs: number; httpPolicy?: OutboundPolicySpec }>(
      "/workers/register",
      {
        id: id.workerId,
        labels: id.labels,
        capacity: id.capacity,
        types: id.types,
        queues: id.queues,
        running: this.#running,
        version: this.#o.version,
        instance: id.instance,
      },
    );
    this.heartbeatMs = res.heartbeatMs;
    if (res.httpPolicy) this.#o.onHttpPolicy?.(res.httpPolicy);
    this.#o.logger.info({ server: this.server, workerId: id.workerId }, "registered");
  }

  /** Runs a call; when the server forgot us (WORKER_NOT_FOUND), registers again and retries once. */
  async #asWorker<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof HttpError && err.code === "WORKER_NOT_FOUND") {
        await this.#register();
        return fn();
      }
      throw err;
    }
  }

  async poll(args: PollArgs): Promise<Claim[]> {
    this.#running = args.running;
    const id = this.#identity!.workerId;
    const res = await this.#asWorker(() =>
      this.#call<{ jobs: WireClaim[]; drain: boolean }>(
        `/workers/${encodeURIComponent(id)}/poll`,
        { slots: args.slots, running: args.running, waitMs: args.waitMs },
        args.signal,
      ),
    );
    this.drain = res.drain;
    if (res.drain && res.jobs.length === 0) await sleep(Math.min(args.waitMs, 2000), args.signal);
    return res.jobs.map((c) => ({
      ...c,
      workerId: id,
      leaseExpiresAt: Date.parse(c.leaseExpiresAt),
      scheduledTime: c.scheduledTime ? Date.parse(c.scheduledTime) : null,
    }));
  }

  complete(item: CompleteInput): void {
    const { workerId: _w, ...rest } = item;
    this.#outbox.completed.push(rest);
    this.#schedule();
  }

  fail(item: FailInput): void {
    const { workerId: _w, ...rest } = item;
    this.#outbox.failed.push(rest);
    this.#schedule();
  }

  async release(items: LeaseRef[]): Promise<void> {
    for (const { workerId: _w, ...rest } of items) this.#outbox.released.push(rest);
    await this.flush();
  }

  async heartbeat(leases: LeaseId[]): Promise<string[]> {
    const id = this.#identity!.workerId;
    const res = await this.#asWorker(() =>
      this.#call<{ abort: string[]; drain: boolean }>(`/workers/${encodeURIComponent(id)}/heartbeat`, {
        leases,
        running: leases.length,
      }),
    );
    this.drain = res.drain;
    return res.abort;
  }

  log(chunk: LogChunk): void {
    this.#outbox.logs.push(chunk);
    this.#schedule();
  }

  progress(lease: LeaseId, percent: number): void {
    this.#outbox.progress.set(lease.jobId, { ...lease, progress: percent });
    this.#schedule();
  }

  /** Cancellations reach a remote worker through the heartbeat's `abort` list. */
  onCancel(): () => void {
    return () => undefined;
  }

  async flush(deadlineMs = 60_000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (!this.#isEmpty() || this.#sending) {
      if (Date.now() > deadline) {
        this.#o.logger.error(
          "could not deliver reports before the deadline; their leases will expire and retry",
        );
        return;
      }
      if (this.#sending) await this.#sending;
      else await this.#send();
    }
  }

  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    await this.flush();
  }

  #isEmpty(): boolean {
    const o = this.#outbox;
    return (
      !o.logs.length && !o.progress.size && !o.completed.length && !o.failed.length && !o.released.length
    );
  }

  #schedule(): void {
    if (this.#timer || this.#sending) return;
    const delay = this.#failures === 0 ? (this.#o.batchMs ?? 5) : Math.min(10_000, 200 * 2 ** this.#failures);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#send();
    }, delay);
  }

  async #send(): Promise<void> {
    if (this.#sending || this.#isEmpty()) return;
    const batch = this.#outbox;
    this.#outbox = emptyOutbox();
    const id = this.#identity!.workerId;
    this.#sending = (async () => {
      try {
        const { stale } = await this.#asWorker(() =>
          this.#call<{ stale: string[] }>(`/workers/${encodeURIComponent(id)}/reports`, {
            logs: batch.logs,
            progress: [...batch.progress.values()],
            completed: batch.completed,
            failed: batch.failed,
            released: batch.released,
          }),
        );
        this.#failures = 0;
        if (stale.length > 0)
          this.#o.logger.warn({ stale }, "reports for leases this worker no longer held were ignored");
      } catch (err) {
        // The server applied the rest and refused only reports for jobs another worker now runs (this
        // worker lost them: a lease that ran out, a job claimed again): delivered, nothing to retry.
        if (err instanceof HttpError && err.status === 409 && err.code === "LEASE_LOST") {
          this.#failures = 0;
          this.#o.logger.warn({ err: err.message }, "reports for jobs another worker now holds were refused");
          return;
        }
        // Put the batch back in front of anything newer, and try again later.
        this.#failures++;
        const newer = this.#outbox;
        this.#outbox = {
          logs: [...batch.logs, ...newer.logs],
          progress: new Map([...batch.progress, ...newer.progress]),
          completed: [...batch.completed, ...newer.completed],
          failed: [...batch.failed, ...newer.failed],
          released: [...batch.released, ...newer.released],
        };
        this.#o.logger.warn(
          { err: String(err), failures: this.#failures },
          "report delivery failed; will retry",
        );
      }
    })();
    await this.#sending;
    this.#sending = null;
    if (!this.#isEmpty()) this.#schedule();
  }
}
