/**
 * What a client may send to create a job. The TypeBox schema is the API's request validation, the OpenAPI
 * description and the SDK's check, so the three cannot drift. normalizeJob() turns a valid input into a
 * NewJob: defaults applied, times resolved, owner stamped from the principal (never from the body).
 */
import { type Static, Type } from "typebox";
import { Compile } from "typebox/compile";
import { BosunError } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { DEFAULT_BACKOFF, DEFAULT_MAX_ATTEMPTS, DEFAULT_QUEUE, type NewJob } from "../core/job.ts";

const Name = (description: string) =>
  Type.String({ minLength: 1, maxLength: 200, pattern: "^[A-Za-z0-9_.:/-]+$", description });

export const BackoffSchema = Type.Object(
  {
    type: Type.Union([Type.Literal("exponential"), Type.Literal("fixed")]),
    delayMs: Type.Integer({ minimum: 0, maximum: 86_400_000 }),
    maxDelayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 86_400_000 })),
    jitter: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  { additionalProperties: false, description: "Delay between attempts (default exponential from 1 s)" },
);

export const JobInputSchema = Type.Object(
  {
    type: Name("Executor (shell, http, sleep) or registered handler name"),
    payload: Type.Optional(Type.Unknown({ description: "JSON input of the job; its shape depends on type" })),
    queue: Type.Optional(Name("Queue name (default 'default')")),
    priority: Type.Optional(
      Type.Integer({ minimum: -1_000_000, maximum: 1_000_000, description: "Higher runs first (default 0)" }),
    ),
    runAt: Type.Optional(
      Type.String({ format: "date-time", description: "Do not start before this instant" }),
    ),
    delayMs: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 366 * 86_400_000, description: "Start later" }),
    ),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: "Default 3" })),
    backoff: Type.Optional(BackoffSchema),
    timeoutMs: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 7 * 86_400_000, description: "Hard limit of one attempt" }),
    ),
    idempotencyKey: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 400,
        description: "Enqueueing the same key again returns the job",
      }),
    ),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 })),
    constraints: Type.Optional(
      Type.Record(Type.String({ maxLength: 100 }), Type.String({ maxLength: 200 }), {
        description: "Worker labels the job needs, e.g. {gpu: 'true'}",
      }),
    ),
  },
  { additionalProperties: false },
);

export type JobInput = Static<typeof JobInputSchema>;

const inputValidator = Compile(JobInputSchema);

/** Throws VALIDATION_FAILED with every problem listed. For callers that bypass the HTTP layer (SDK). */
export function assertJobInput(input: unknown, path = ""): asserts input is JobInput {
  if (inputValidator.Check(input)) return;
  const problems = [...inputValidator.Errors(input)].map((e) => ({
    path: `${path}${e.instancePath}`,
    message: e.message,
  }));
  throw new BosunError(
    "VALIDATION_FAILED",
    `Invalid job: ${problems[0]?.path} ${problems[0]?.message}`,
    problems,
  );
}

export interface NormalizeOptions {
  owner: string;
  now: number;
  maxPayloadBytes: number;
  scheduleId?: string | null;
  scheduledTime?: number | null;
}

/** PAYLOAD_TOO_LARGE (413) when the payload's JSON is over the limit: jobs and schedules' job templates. */
export function assertPayloadSize(payload: unknown, maxBytes: number, what = "The payload"): void {
  const size = Buffer.byteLength(JSON.stringify(payload ?? null));
  if (size > maxBytes)
    throw new BosunError("PAYLOAD_TOO_LARGE", `${what} is ${size} bytes; the limit is ${maxBytes}`, {
      bytes: size,
      limit: maxBytes,
    });
}

export function normalizeJob(input: JobInput, opts: NormalizeOptions): NewJob {
  const payload = input.payload ?? null;
  assertPayloadSize(payload, opts.maxPayloadBytes);
  let runAt = opts.now;
  if (input.runAt !== undefined) {
    const t = Date.parse(input.runAt);
    if (Number.isNaN(t)) throw new BosunError("VALIDATION_FAILED", `runAt is not a date: ${input.runAt}`);
    runAt = t;
  }
  if (input.delayMs !== undefined) runAt = Math.max(runAt, opts.now + input.delayMs);
  return {
    id: newId(),
    queue: input.queue ?? DEFAULT_QUEUE,
    type: input.type,
    payload,
    priority: input.priority ?? 0,
    runAt,
    maxAttempts: input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    backoff: input.backoff ? { ...DEFAULT_BACKOFF, ...input.backoff } : DEFAULT_BACKOFF,
    timeoutMs: input.timeoutMs ?? null,
    idempotencyKey: input.idempotencyKey ?? null,
    owner: opts.owner,
    tags: input.tags ?? [],
    constraints: input.constraints ?? {},
    scheduleId: opts.scheduleId ?? null,
    scheduledTime: opts.scheduledTime ?? null,
  };
}
