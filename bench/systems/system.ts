/**
 * What the harness needs from each job system. Every adapter sets the system up as its own docs
 * recommend, with the same concurrency for everyone, and calls `onJob(payload)` from a no-op handler.
 */
export interface SystemOptions {
  concurrency: number;
  /** A fresh namespace (Redis prefix, PostgreSQL schema, SQLite folder) for this run. */
  namespace: string;
  onJob: (payload: { t?: number }) => void;
}

export interface BenchSystem {
  readonly name: string;
  /** Bulk enqueue of no-op jobs, in the system's own batch API (chunks of 1,000). */
  enqueue(payloads: { t?: number }[]): Promise<void>;
  startWorkers(): Promise<void>;
  /** Jobs completed so far as the system itself counts them (for systems whose handlers run elsewhere). */
  completed?(): Promise<number>;
  /** Enqueue-to-start latency of one job, for systems whose handlers run in another process (ms). */
  latencyOne?(): Promise<number>;
  /** PIDs whose RSS counts as the system's (the in-process harness is counted by the child itself). */
  pids?(): number[];
  close(): Promise<void>;
}

export type SystemFactory = (opts: SystemOptions) => Promise<BenchSystem>;

export const PG_URL = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const REDIS = { host: "127.0.0.1", port: 6379 };

export async function chunks<T>(
  items: T[],
  size: number,
  fn: (chunk: T[]) => Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) await fn(items.slice(i, i + size));
}
