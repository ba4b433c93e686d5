/**
 * One interface for every way of running a job (shell, http, sleep, handler, later file/sandbox/docker).
 * An executor resolves with the attempt's outcome or throws a JobFailure (core/errors.ts); any other throw
 * becomes HANDLER_ERROR. It must honour `ctx.signal`: on abort (timeout, cancellation, shutdown) it stops
 * promptly and kills whatever it started. The worker loop, not the executor, decides what an abort means.
 */
import type { TSchema } from "typebox";
import type { Claim } from "../core/job.ts";

export interface ExecContext {
  readonly signal: AbortSignal;
  /** One line (or chunk) of the job's log. Never throws; the worker batches and caps it. */
  log(data: string, stream?: "stdout" | "stderr"): void;
  /** 0..100 */
  progress(percent: number): void;
  /** The attempt's own working directory, created on first call (input files land here with file jobs). */
  workDir(): Promise<string>;
}

export interface ExecOutcome {
  result: unknown;
  exitCode?: number | null;
  httpStatus?: number | null;
}

export interface Executor {
  readonly type: string;
  /** Validates `payload` at enqueue time, so a bad payload is a 400 and never a failed attempt. */
  readonly payloadSchema?: TSchema;
  run(job: Claim, ctx: ExecContext): Promise<ExecOutcome>;
}

export type ExecutorMap = ReadonlyMap<string, Executor>;
