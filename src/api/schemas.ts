/**
 * Response and shared schemas. They document the API (OpenAPI at /api/v1/openapi.json) and drive
 * Fastify's fast serializer. Request schemas live beside their inputs (engine/job-input.ts).
 */
import { Type } from "typebox";
import { JOB_STATUSES } from "../core/job.ts";
import { BackoffSchema } from "../engine/job-input.ts";

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Time = Nullable(Type.String({ format: "date-time" }));

const errorShape = {
  error: Type.Object({
    code: Type.String({ description: "Stable UPPER_SNAKE code from the error registry" }),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  }),
};
/** The error body, inline in every route response (typed by the type provider). */
const ErrorResponse = Type.Object(errorShape, { description: "Error" });

export const JobErrorSchema = Nullable(
  Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
);

export const JobStatusSchema = Type.Union(JOB_STATUSES.map((s) => Type.Literal(s)));

/** Why no live worker can take a job now (engine/placement-advice.ts); advisory, the job stays. */
export const WaitingReasonSchema = Type.Object(
  {
    code: Type.Union(
      [
        Type.Literal("NO_WORKER_FOR_TYPE"),
        Type.Literal("NO_WORKER_FOR_QUEUE"),
        Type.Literal("NO_WORKER_MATCHES_CONSTRAINTS"),
      ],
      { description: "Stable code" },
    ),
    message: Type.String(),
  },
  { description: "Why no live worker can take this job now" },
);

/** A job accepted although no live worker can take it now (POST /jobs, /jobs/batch). */
export const JobWarning = Type.Object({
  jobId: Type.String(),
  code: WaitingReasonSchema.properties.code,
  message: Type.String(),
});

export const JobView = Type.Object(
  {
    id: Type.String(),
    queue: Type.String(),
    type: Type.String(),
    payload: Type.Unknown(),
    status: JobStatusSchema,
    priority: Type.Integer(),
    attempts: Type.Integer(),
    maxAttempts: Type.Integer(),
    backoff: BackoffSchema,
    timeoutMs: Nullable(Type.Integer()),
    runAt: Time,
    createdAt: Time,
    updatedAt: Time,
    startedAt: Time,
    finishedAt: Time,
    result: Type.Unknown(),
    error: JobErrorSchema,
    progress: Nullable(Type.Number()),
    workerId: Nullable(Type.String()),
    leaseExpiresAt: Time,
    idempotencyKey: Nullable(Type.String()),
    owner: Type.String(),
    tags: Type.Array(Type.String()),
    constraints: Type.Record(Type.String(), Type.String()),
    scheduleId: Nullable(Type.String()),
    scheduledTime: Time,
    waiting: Type.Optional(
      Type.Union([WaitingReasonSchema, Type.Null()], {
        description:
          "GET /jobs/:id only: why the queued job waits (no live worker takes its type, queue or constraints); null when one can take it",
      }),
    ),
  },
  { $id: "Job" },
);

export const AttemptView = Type.Object({
  attempt: Type.Integer(),
  status: Type.String(),
  startedAt: Time,
  finishedAt: Time,
  durationMs: Type.Integer(),
  workerId: Nullable(Type.String()),
  exitCode: Nullable(Type.Integer()),
  httpStatus: Nullable(Type.Integer()),
  error: JobErrorSchema,
});

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

/** Standard error responses, added to each route's `response` map for the OpenAPI document. */
export const errors = <const S extends number>(...statuses: S[]) =>
  Object.fromEntries(statuses.map((s) => [s, ErrorResponse])) as Record<S, typeof ErrorResponse>;
