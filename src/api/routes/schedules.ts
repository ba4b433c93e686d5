/** /api/v1/schedules: cron schedules as a resource and their runs (seed 002's execution history). */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import { type Schedule, ScheduleInputSchema, SchedulePatchSchema } from "../../scheduler/schedule.ts";
import { ScheduleAccess } from "../../scheduler/schedule-access.ts";
import type { ScheduleService } from "../../scheduler/schedule-service.ts";
import type { ScheduleRun } from "../../scheduler/schedule-store.ts";
import { errors, IdParams, JobErrorSchema } from "../schemas.ts";
import { jobView } from "../views.ts";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const Time = Type.Union([Type.Null(), Type.String({ format: "date-time" })]);

export function scheduleView(s: Schedule, nextRuns: number[]) {
  return {
    id: s.id,
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    job: s.job,
    overlap: s.overlap,
    catchUp: s.catchUp,
    catchUpWindowMs: s.catchUpWindowMs,
    startAt: iso(s.startAt),
    endAt: iso(s.endAt),
    paused: s.paused,
    // The secret stays in the store: it only signs deliveries.
    alert: s.alert ? { webhookUrl: s.alert.webhookUrl, hasSecret: Boolean(s.alert.secret) } : null,
    owner: s.owner,
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
    lastFireTime: iso(s.lastFireTime),
    nextRuns: nextRuns.map((t) => new Date(t).toISOString()),
  };
}

export function runView(r: ScheduleRun) {
  return {
    jobId: r.jobId,
    scheduledTime: iso(r.scheduledTime),
    enqueuedAt: iso(r.enqueuedAt),
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
    status: r.status,
    httpStatus: r.httpStatus,
    durationMs: r.startedAt !== null && r.finishedAt !== null ? r.finishedAt - r.startedAt : null,
    error: r.error,
    attempts: r.attempts,
  };
}

const ScheduleOut = Type.Object(
  {
    id: Type.String(),
    name: Type.Union([Type.Null(), Type.String()]),
    cron: Type.String(),
    timezone: Type.String(),
    job: Type.Unknown(),
    overlap: Type.String(),
    catchUp: Type.String(),
    catchUpWindowMs: Type.Integer(),
    startAt: Time,
    endAt: Time,
    paused: Type.Boolean(),
    alert: Type.Union([Type.Null(), Type.Object({ webhookUrl: Type.String(), hasSecret: Type.Boolean() })]),
    owner: Type.String(),
    createdAt: Time,
    updatedAt: Time,
    lastFireTime: Time,
    nextRuns: Type.Array(Type.String(), { description: "The next 5 fire times" }),
  },
  { description: "A schedule (secrets are never returned)" },
);
const One = Type.Object({ schedule: ScheduleOut });

const RunOut = Type.Object({
  jobId: Type.String(),
  scheduledTime: Type.Union([Type.Null(), Type.String()], { description: "null for a manual trigger" }),
  enqueuedAt: Time,
  startedAt: Time,
  finishedAt: Time,
  status: Type.String(),
  httpStatus: Type.Union([Type.Null(), Type.Integer()], { description: "Of the latest attempt" }),
  durationMs: Type.Union([Type.Null(), Type.Integer()]),
  error: JobErrorSchema,
  attempts: Type.Integer(),
});

export const scheduleRoutes =
  (schedules: ScheduleService): FastifyPluginAsyncTypebox =>
  async (app) => {
    const view = (s: Schedule) => scheduleView(s, schedules.nextRuns(s));
    const own = (request: FastifyRequest) =>
      new ScheduleAccess(schedules, request.principal, { ip: request.ip });
    const tags = ["schedules"];

    app.post(
      "/schedules",
      {
        config: { access: { resource: "schedule", verb: "create" } },
        schema: {
          operationId: "createSchedule",
          tags,
          summary: "Create a cron schedule",
          body: ScheduleInputSchema,
          response: { 201: One, ...errors(400, 409, 413, 415) },
        },
      },
      async (request, reply) =>
        reply.status(201).send({ schedule: view(await own(request).create(request.body)) }),
    );

    app.get(
      "/schedules",
      {
        config: { access: { resource: "schedule", verb: "read" } },
        schema: {
          operationId: "listSchedules",
          tags,
          summary: "List schedules, oldest first",
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
            cursor: Type.Optional(Type.String({ maxLength: 100 })),
          }),
          response: {
            200: Type.Object({
              items: Type.Array(ScheduleOut),
              nextCursor: Type.Union([Type.Null(), Type.String()]),
            }),
          },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? 100;
        const items = await own(request).list(limit, request.query.cursor);
        return { items: items.map(view), nextCursor: items.length === limit ? items.at(-1)!.id : null };
      },
    );

    app.get(
      "/schedules/:id",
      {
        config: { access: { resource: "schedule", verb: "read" } },
        schema: {
          operationId: "getSchedule",
          tags,
          summary: "Get a schedule",
          params: IdParams,
          response: { 200: One, ...errors(404) },
        },
      },
      async (request) => ({ schedule: view(await own(request).get(request.params.id)) }),
    );

    app.patch(
      "/schedules/:id",
      {
        config: { access: { resource: "schedule", verb: "update" } },
        schema: {
          operationId: "updateSchedule",
          tags,
          summary: "Change a schedule (a new cron or zone starts from now)",
          params: IdParams,
          body: SchedulePatchSchema,
          response: { 200: One, ...errors(400, 404, 409, 413, 415) },
        },
      },
      async (request) => ({ schedule: view(await own(request).update(request.params.id, request.body)) }),
    );

    app.delete(
      "/schedules/:id",
      {
        config: { access: { resource: "schedule", verb: "delete" } },
        schema: {
          operationId: "deleteSchedule",
          tags,
          summary: "Delete a schedule (its past runs stay)",
          params: IdParams,
          response: { 204: Type.Null(), ...errors(404) },
        },
      },
      async (request, reply) => {
        await own(request).delete(request.params.id);
        return reply.status(204).send(null);
      },
    );

    for (const verb of ["pause", "resume"] as const) {
      app.post(
        `/schedules/:id/${verb}`,
        {
          config: { access: { resource: "schedule", verb: "act" } },
          schema: {
            operationId: `${verb}Schedule`,
            tags,
            summary:
              verb === "pause"
                ? "Pause a schedule"
                : "Resume a schedule (fires missed while paused are not run)",
            params: IdParams,
            response: { 200: One, ...errors(404) },
          },
        },
        async (request) => ({
          schedule: view(await own(request).setPaused(request.params.id, verb === "pause")),
        }),
      );
    }

    app.post(
      "/schedules/:id/trigger",
      {
        config: { access: { resource: "schedule", verb: "act" } },
        schema: {
          operationId: "triggerSchedule",
          tags,
          summary: "Run the schedule's job now, outside its cron",
          params: IdParams,
          response: { 201: Type.Object({ job: Type.Ref("Job") }), ...errors(404) },
        },
      },
      async (request, reply) =>
        reply.status(201).send({ job: jobView(await own(request).trigger(request.params.id)) }),
    );

    app.get(
      "/schedules/:id/runs",
      {
        config: { access: { resource: "schedule", verb: "read" } },
        schema: {
          operationId: "listScheduleRuns",
          tags,
          summary: "The jobs a schedule spawned, newest first (execution history)",
          params: IdParams,
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
            cursor: Type.Optional(Type.String({ pattern: "^[0-9]{1,15}$" })),
          }),
          response: {
            200: Type.Object({
              items: Type.Array(RunOut),
              nextCursor: Type.Union([Type.Null(), Type.String()]),
            }),
            ...errors(404),
          },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? 50;
        const runs = await own(request).runs(request.params.id, {
          limit,
          beforeSeq: request.query.cursor === undefined ? undefined : Number(request.query.cursor),
        });
        return {
          items: runs.map(runView),
          nextCursor: runs.length === limit ? String(runs.at(-1)!.seq) : null,
        };
      },
    );
  };
