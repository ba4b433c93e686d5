/** /api/v1/jobs: create (one or a batch), read, list, attempts, cancel, retry. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import { BosunError } from "../../core/errors.ts";
import { JOB_STATUSES, type Job, type JobStatus } from "../../core/job.ts";
import { JobAccess } from "../../engine/job-access.ts";
import { JobInputSchema } from "../../engine/job-input.ts";
import type { ApiContext } from "../context.ts";
import { AttemptView, errors, IdParams, JobStatusSchema, JobView, JobWarning } from "../schemas.ts";
import { attemptView, jobView } from "../views.ts";

const MAX_BATCH = 1000;
const JobBody = Type.Object({ job: Type.Ref("Job") });
const Warnings = Type.Array(JobWarning, {
  description: "Jobs accepted that no live worker can take now (advisory; they wait for one)",
});
const JobCreated = Type.Object({ job: Type.Ref("Job"), warnings: Warnings });

/** A job's seq: 15 digits stay exact as a JavaScript number and inside a PostgreSQL bigint. */
const Cursor = Type.String({ pattern: "^[0-9]{1,15}$", description: "nextCursor of the previous page" });

const ListQuery = Type.Object({
  status: Type.Optional(Type.String({ description: `Comma-separated: ${JOB_STATUSES.join(", ")}` })),
  queue: Type.Optional(Type.String()),
  type: Type.Optional(Type.String()),
  tag: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "Only jobs with this tag" })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Cursor),
});

export function parseStatuses(raw: string | undefined): JobStatus[] | undefined {
  if (raw === undefined || raw === "") return undefined;
  const list = raw.split(",").map((s) => s.trim());
  const bad = list.filter((s) => !(JOB_STATUSES as readonly string[]).includes(s));
  if (bad.length > 0)
    throw new BosunError(
      "VALIDATION_FAILED",
      `Unknown status ${bad.join(", ")}; use ${JOB_STATUSES.join(", ")}`,
    );
  return list as JobStatus[];
}

export const jobRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    const { engine } = ctx;
    const jobs = (request: FastifyRequest) => new JobAccess(engine, request.principal, { ip: request.ip });

    /** Advisory: the jobs that wait for a worker (queued or scheduled) and that no live worker takes. */
    const warnings = async (jobs: Job[]) => {
      const pending = jobs.filter((j) => j.status === "queued" || j.status === "scheduled");
      const reasons = await ctx.advisor.explain(pending);
      return pending.flatMap((j, i) => (reasons[i] ? [{ jobId: j.id, ...reasons[i] }] : []));
    };

    app.post(
      "/jobs",
      {
        config: { access: { resource: "job", verb: "create" } },
        schema: {
          operationId: "createJob",
          tags: ["jobs"],
          summary: "Enqueue a job",
          description:
            "201 with the new job, or 200 with the existing job when idempotencyKey is already known.",
          body: JobInputSchema,
          response: { 200: JobCreated, 201: JobCreated, ...errors(400, 413, 415) },
        },
      },
      async (request, reply) => {
        const [outcome] = await jobs(request).enqueue([request.body]);
        return reply
          .status(outcome!.created ? 201 : 200)
          .send({ job: jobView(outcome!.job), warnings: await warnings([outcome!.job]) });
      },
    );

    app.post(
      "/jobs/batch",
      {
        config: { access: { resource: "job", verb: "create" } },
        schema: {
          operationId: "createJobs",
          tags: ["jobs"],
          summary: "Enqueue many jobs in one transaction (all or none)",
          body: Type.Object(
            { jobs: Type.Array(JobInputSchema, { minItems: 1, maxItems: MAX_BATCH }) },
            { additionalProperties: false },
          ),
          response: {
            201: Type.Object({ jobs: Type.Array(Type.Ref("Job")), warnings: Warnings }),
            ...errors(400, 413, 415),
          },
        },
      },
      async (request, reply) => {
        const outcomes = await jobs(request).enqueue(request.body.jobs);
        const created = outcomes.map((o) => o.job);
        return reply.status(201).send({ jobs: created.map(jobView), warnings: await warnings(created) });
      },
    );

    app.get(
      "/jobs",
      {
        config: { access: { resource: "job", verb: "read" } },
        schema: {
          operationId: "listJobs",
          tags: ["jobs"],
          summary: "List jobs, newest first (keyset pagination)",
          querystring: ListQuery,
          response: {
            200: Type.Object({
              items: Type.Array(Type.Ref("Job")),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            }),
            ...errors(400),
          },
        },
      },
      async (request) => {
        const q = request.query;
        const limit = q.limit ?? 50;
        const page = await jobs(request).list({
          status: parseStatuses(q.status),
          queue: q.queue,
          type: q.type,
          tag: q.tag,
          beforeSeq: q.cursor === undefined ? undefined : Number(q.cursor),
          limit,
        });
        const last = page.at(-1);
        return {
          items: page.map(jobView),
          nextCursor: page.length === limit && last ? String(last.seq) : null,
        };
      },
    );

    app.get(
      "/jobs/:id",
      {
        config: { access: { resource: "job", verb: "read" } },
        schema: {
          operationId: "getJob",
          tags: ["jobs"],
          summary: "Get a job",
          params: IdParams,
          response: { 200: JobBody, ...errors(404) },
        },
      },
      async (request) => {
        const job = await jobs(request).get(request.params.id);
        const [waiting] = job.status === "queued" ? await ctx.advisor.explain([job]) : [null];
        return { job: { ...jobView(job), waiting: waiting ?? null } };
      },
    );

    app.get(
      "/jobs/:id/attempts",
      {
        config: { access: { resource: "job", verb: "read" } },
        schema: {
          operationId: "listJobAttempts",
          tags: ["jobs"],
          summary: "The job's attempts (its execution history)",
          params: IdParams,
          response: { 200: Type.Object({ items: Type.Array(AttemptView) }), ...errors(404) },
        },
      },
      async (request) => {
        const attempts = await jobs(request).attempts(request.params.id);
        return { items: attempts.map(attemptView) };
      },
    );

    for (const verb of ["cancel", "retry"] as const) {
      app.post(
        `/jobs/:id/${verb}`,
        {
          config: { access: { resource: "job", verb: "act" } },
          schema: {
            operationId: `${verb}Job`,
            tags: ["jobs"],
            summary:
              verb === "cancel"
                ? "Cancel a queued, scheduled or running job"
                : "Run a failed or cancelled job again",
            params: IdParams,
            response: { 200: JobBody, ...errors(404, 409, 413) },
          },
        },
        async (request) => ({ job: jobView(await jobs(request)[verb](request.params.id)) }),
      );
    }
  };

export { JobStatusSchema, JobView };
