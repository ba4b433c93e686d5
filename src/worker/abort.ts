/** Why an attempt was aborted: the loop reports each kind differently (fail, release, or nothing). */

export const AbortKind = {
  Timeout: "timeout",
  Cancelled: "cancelled",
  /** The lease is gone (reaped or reassigned): someone else owns the job now. */
  Lost: "lost",
  Shutdown: "shutdown",
} as const;
export type AbortKind = (typeof AbortKind)[keyof typeof AbortKind];

const MESSAGES: Record<AbortKind, string> = {
  timeout: "The attempt timed out",
  cancelled: "The job was cancelled",
  lost: "The lease on this job was lost",
  shutdown: "The worker is shutting down",
};

export class AttemptAbort extends Error {
  readonly kind: AbortKind;
  constructor(kind: AbortKind) {
    super(MESSAGES[kind]);
    this.name = "AttemptAbort";
    this.kind = kind;
  }
}

export const attemptAbort = (kind: AbortKind): AttemptAbort => new AttemptAbort(kind);

export const abortKind = (reason: unknown): AbortKind | null =>
  reason instanceof AttemptAbort ? reason.kind : null;
