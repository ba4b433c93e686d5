/**
 * The one registry of error codes. Every error that leaves Bosun (HTTP body, CLI message, job error) uses a
 * code from here; test/unit/errors.test.ts checks that codes are unique and statuses sane.
 */

export const ERRORS = {
  // Request errors (4xx)
  VALIDATION_FAILED: { status: 400, message: "The request is not valid" },
  INVALID_JSON: { status: 400, message: "The request body is not valid JSON" },
  JSON_TOO_DEEP: { status: 400, message: "The JSON nests objects and arrays too deeply" },
  UNKNOWN_JOB_TYPE: { status: 400, message: "No executor or handler is registered for this job type" },
  INVALID_CRON: { status: 400, message: "The cron expression is not valid" },
  INVALID_TIMEZONE: { status: 400, message: "The time zone is not known" },
  UNAUTHORIZED: { status: 401, message: "Authentication is required" },
  FORBIDDEN: { status: 403, message: "You may not do this" },
  // Identity and access (src/auth/)
  WEAK_PASSWORD: { status: 400, message: "The password does not meet the password rules" },
  INVALID_CREDENTIALS: { status: 401, message: "The username or password is wrong" },
  TOKEN_EXPIRED: { status: 401, message: "The access token has expired" },
  TOKEN_REUSED: { status: 401, message: "The refresh token was already used; the session is revoked" },
  HOST_NOT_ALLOWED: { status: 403, message: "The Host header names a host this server does not answer for" },
  USERNAME_TAKEN: { status: 409, message: "A user with this username exists" },
  ACCOUNT_LOCKED: { status: 429, message: "Too many failed logins; try again later" },
  JOB_NOT_FOUND: { status: 404, message: "No job has this id" },
  SCHEDULE_NOT_FOUND: { status: 404, message: "No schedule has this id" },
  WORKER_NOT_FOUND: { status: 404, message: "No worker has this id" },
  ROUTE_NOT_FOUND: { status: 404, message: "No such route" },
  USER_NOT_FOUND: { status: 404, message: "No user has this id" },
  API_KEY_NOT_FOUND: { status: 404, message: "No API key has this id" },
  WORKER_ID_TAKEN: { status: 409, message: "A live worker of another credential has this id" },
  IDEMPOTENCY_KEY_TAKEN: { status: 409, message: "Another owner's job has this idempotency key" },
  INVALID_STATE: { status: 409, message: "The resource's state does not allow this" },
  INVALID_TRANSITION: { status: 409, message: "The job lifecycle has no such transition" },
  EVENTS_EXPIRED: { status: 410, message: "The change feed no longer holds events that old" },
  // Never an HTTP answer: the last message of an event stream the client read too slowly (close code 4429).
  EVENTS_TOO_SLOW: { status: 429, message: "The client read the event stream too slowly" },
  LEASE_LOST: { status: 409, message: "The lease on this job is no longer held" },
  PAYLOAD_TOO_LARGE: { status: 413, message: "The request body is too large" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "The content type is not supported" },
  // Server-side
  NOT_READY: { status: 503, message: "The server is not ready" },
  SHUTTING_DOWN: { status: 503, message: "The server is shutting down" },
  INTERNAL: { status: 500, message: "Internal error" },
  DATA_DIR_LOCKED: { status: 409, message: "Another process has this data folder open" },
  // Job failure codes (recorded on attempts; never an HTTP status of their own)
  TIMEOUT: { status: 500, message: "The attempt exceeded its timeout" },
  CANCELLED: { status: 500, message: "The job was cancelled" },
  EXIT_NONZERO: { status: 500, message: "The command exited with a non-zero status" },
  HTTP_STATUS: { status: 500, message: "The target answered with a non-2xx status" },
  NETWORK_ERROR: { status: 500, message: "The request failed before an answer arrived" },
  HTTP_TARGET_DENIED: {
    status: 500,
    message: "The outbound policy refuses this target (loopback, private, metadata…); nothing was sent",
  },
  TOO_MANY_REDIRECTS: { status: 500, message: "The target redirected more times than followed" },
  HANDLER_ERROR: { status: 500, message: "The handler threw" },
  LEASE_EXPIRED: { status: 500, message: "The worker stopped renewing its lease" },
  WORKER_LOST: { status: 500, message: "The worker that ran the attempt is gone" },
  SPAWN_FAILED: { status: 500, message: "The process could not be started" },
  RESULT_TOO_LARGE: { status: 500, message: "The attempt's result is larger than the server stores" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class BosunError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message?: string, details?: unknown) {
    super(message ?? ERRORS[code].message);
    this.name = "BosunError";
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
  }

  toJSON(): { code: string; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/**
 * Thrown by executors and handlers to fail an attempt with a code. `retryable: false` is the
 * UnrecoverableError of other queues: the job fails at once, whatever attempts remain.
 */
export class JobFailure extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly details: unknown;
  readonly exitCode: number | null;
  readonly httpStatus: number | null;

  constructor(
    code: string,
    message: string,
    opts: {
      retryable?: boolean;
      details?: unknown;
      exitCode?: number | null;
      httpStatus?: number | null;
    } = {},
  ) {
    super(message);
    this.name = "JobFailure";
    this.code = code;
    this.retryable = opts.retryable ?? true;
    this.details = opts.details;
    this.exitCode = opts.exitCode ?? null;
    this.httpStatus = opts.httpStatus ?? null;
  }
}

/** The error a handler throws when retrying cannot help. */
export class UnrecoverableError extends JobFailure {
  constructor(message: string, details?: unknown) {
    super("UNRECOVERABLE", message, { retryable: false, details });
    this.name = "UnrecoverableError";
  }
}
