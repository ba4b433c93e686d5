/**
 * How a worker loop talks to its server. The local pool (inside `bosun start`/`server`) calls the engine
 * directly; a remote worker speaks HTTP (worker/http-transport.ts). The loop does not know which one it
 * has: that is what lets both share one implementation.
 */
import type { Claim } from "../core/job.ts";
import type { CompleteInput, FailInput, LeaseId, LeaseRef, LogChunk } from "../store/store.ts";

export interface WorkerIdentity {
  workerId: string;
  labels: Record<string, string>;
  capacity: number;
  /** Job types this worker can run (its executors and handlers). */
  types: string[];
  /** Only these queues, or all when null. */
  queues: string[] | null;
  /**
   * Random per process start (a UUID), sent with every registration: when the server sees another
   * instance under this worker id, the previous process is dead and its leases are ended at once.
   * Omitted by workers that predate it (their jobs wait for their leases to expire).
   */
  instance?: string;
}

export interface PollArgs {
  slots: number;
  running: number;
  waitMs: number;
  signal: AbortSignal;
}

export interface WorkerTransport {
  /** Announces the worker; answers how often the server wants heartbeats. */
  register(identity: WorkerIdentity): Promise<{ heartbeatMs: number }>;
  poll(args: PollArgs): Promise<Claim[]>;
  /** Reports are batched by the transport; flush() waits until all are delivered. */
  complete(item: CompleteInput): void;
  fail(item: FailInput): void;
  release(items: LeaseRef[]): Promise<void>;
  /** Renews leases; returns the job ids among them the worker must abort (cancelled or reassigned). */
  heartbeat(leases: LeaseId[]): Promise<string[]>;
  log(chunk: LogChunk): void;
  progress(lease: LeaseId, percent: number): void;
  /** Push notification of cancellations, where the transport has one (local bus, remote long-poll). */
  onCancel(fn: (jobIds: string[]) => void): () => void;
  flush(): Promise<void>;
  close(): Promise<void>;
}
