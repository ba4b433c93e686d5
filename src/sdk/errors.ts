/**
 * The errors BosunClient throws, so callers can tell "the server said no" (BosunApiError, with the
 * server's stable code) from "nothing usable answered" (BosunUnreachableError) from "still not done"
 * (BosunWaitTimeoutError). Anything else is a bug or the caller's own abort.
 */
import type { ApiJob } from "./types.ts";

/** The server answered with an error status. `code` comes from the server's error registry. */
export class BosunApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = "BosunApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/**
 * No answer at the URL: connection refused, DNS failure, reset, or no response in time. Also thrown when
 * whatever answered is not a Bosun server (a 2xx that is not JSON), because retrying elsewhere is the fix.
 */
export class BosunUnreachableError extends Error {
  readonly url: string;
  constructor(url: string, cause: unknown, reason = describeCause(cause)) {
    super(`cannot reach the Bosun server at ${url}${reason ? `: ${reason}` : ""}`, { cause });
    this.name = "BosunUnreachableError";
    this.url = url;
  }
}

/** wait() gave up before the job ended; `job` is the last state seen (the job keeps running). */
export class BosunWaitTimeoutError extends Error {
  readonly code = "WAIT_TIMEOUT";
  readonly job: ApiJob;
  constructor(job: ApiJob, timeoutMs: number) {
    super(`job ${job.id} is still ${job.status} after ${timeoutMs} ms`);
    this.name = "BosunWaitTimeoutError";
    this.job = job;
  }
}

/**
 * fetch() hides the useful part ("ECONNREFUSED 127.0.0.1:8080", "ENOTFOUND host") in `cause`, sometimes
 * as an AggregateError when several addresses were tried.
 */
function describeCause(err: unknown): string {
  if (!(err instanceof Error)) return err === undefined ? "" : String(err);
  if (err.name === "TimeoutError") return "no answer in time";
  const cause = err.cause as { code?: unknown; message?: unknown; errors?: unknown[] } | undefined;
  if (cause && typeof cause === "object") {
    const first = Array.isArray(cause.errors) ? (cause.errors[0] as typeof cause) : cause;
    if (typeof first?.message === "string" && first.message) return first.message;
    if (typeof cause.code === "string") return cause.code;
  }
  return err.message;
}
