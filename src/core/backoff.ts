/** Retry delays. Pure, so the store and tests compute the same numbers. */
import type { Backoff } from "./job.ts";

/**
 * Delay before the attempt after `attempt` (1-based: the delay after the first failure is `delayMs`).
 * `random` is injectable for tests.
 */
export function retryDelay(backoff: Backoff, attempt: number, random: () => number = Math.random): number {
  const base =
    backoff.type === "fixed"
      ? backoff.delayMs
      : backoff.delayMs * 2 ** Math.max(0, Math.min(attempt - 1, 40));
  const capped = Math.min(base, backoff.maxDelayMs ?? Number.POSITIVE_INFINITY);
  const jitter = Math.min(Math.max(backoff.jitter ?? 0, 0), 1);
  return Math.round(capped * (1 - jitter * random()));
}

export interface FailureDecision {
  status: "failed" | "scheduled" | "queued";
  runAt: number;
}

/** What a failed attempt leads to: another attempt after the backoff, or the end of the job. */
export function decideAfterFailure(
  job: { attempts: number; maxAttempts: number; backoff: Backoff },
  retryable: boolean,
  now: number,
  random: () => number = Math.random,
): FailureDecision {
  if (!retryable || job.attempts >= job.maxAttempts) return { status: "failed", runAt: now };
  const delay = retryDelay(job.backoff, job.attempts, random);
  return delay > 0 ? { status: "scheduled", runAt: now + delay } : { status: "queued", runAt: now };
}
