/** /api/v1/schedules: cron schedules as a resource, their runs (execution history), and alerts. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { Engine } from "../../engine/engine.ts";
import { type Schedule, ScheduleInputSchema, SchedulePatchSchema } from "../../scheduler/schedule.ts";
import type { ScheduleService } from "../../scheduler/schedule-service.ts";
import type { AlertStore } from "../../scheduler/schedule-store.ts";
import { errors, IdParams } from "../schemas.ts";
import { jobView } from "../views.ts";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

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
    alert: s.alert ? { webhookUrl: s.alert.webhookUrl, hasSecret: Boolean(s.alert.secret) } : null,
    owner: s.owner,
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
    lastFireTime: iso(s.lastFireTime),
    nextRuns: nextRuns.map((t) => new Date(t).toISOString()),
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
    startAt: Type.Union([Type.Null(), Type.String()]),
    endAt: Type.Union([Type.Null(), Type.String()]),
    paused: Type.Boolean(),
    alert: Type.Union([Type.Null(), Type.Object({ webhookUrl: Type.String(), hasSecret: Type.Boolean() })]),
    owner: Type.String(),
    createdAt: Type.Union([Type.Null(), Type.String()]),
    updatedAt: Type.Union([Type.Null(), Type.String()]),
    lastFireTime: Type.Union([Type.Null(), Type.String()]),
    nextRuns: Type.Array(Type.String(), { description: "The next 5 fire times" }),
  },
  { description: "A schedule (secrets are never returned)" },
);
const One = Type.Object({ schedule: ScheduleOut });

export const scheduleRoutes =
  (schedules: ScheduleService, engine: Engine, alerts: AlertStore): FastifyPluginAsyncTypebox =>
  async (app) => {
    const view = (s: Schedule) => scheduleView(s, schedules.nextRuns(s));

    app.post(
      "/schedules",
      {
        schema: {
          tags: ["schedules"],
          summary: "Create a cron schedule",
          body: ScheduleInputSchema,
          response: { 201: One, ...errors(400, 409) },
        },
      },
      async (request, reply) =>
        reply
          .status(201)
          .send({ schedule: view(await schedules.create(request.body, request.principal.id)) }),
    );

    app.get(
      "/schedules",
      {
        schema: {
          tags: ["schedules"],
          summary: "List schedules",
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
            cursor: Type.Optional(Type.String()),
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
        const items = await schedules.list(limit, request.query.cursor);
        return { items: items.map(view), nextCursor: items.length === limit ? items.at(-1)!.id : null };
      },
    );

    app.get(
      "/schedules/:id",
      {
        schema: {
          tags: ["schedules"],
          summary: "Get a schedule",
          params: IdParams,
          response: { 200: One, ...errors(404) },
        },
      },
      async (request) => ({ schedule: view(await schedules.get(request.params.id)) }),
    );

    app.patch(
      "/schedules/:id",
      {
        schema: {
          tags: ["schedules"],
          summary: "Change a schedule",
          params: IdParams,
          body: SchedulePatchSchema,
          response: { 200: One, ...errors(400, 404, 409) },
        },
      },
      async (request) => ({ schedule: view(await schedules.update(request.params.id, request.body)) }),
    );

    app.delete(
      "/schedules/:id",
      {
        schema: {
          tags: ["schedules"],
          summary: "Delete a schedule (its past runs stay)",
          params: IdParams,
          response: { 204: Type.Null(), ...errors(404) },
        },
      },
      async (request, reply) => {
        await schedules.delete(request.params.id);
        return reply.status(204).send(null);
      },
    );

    for (const verb of ["pause", "resume"] as const) {
      app.post(
        `/schedules/:id/${verb}`,
        {
          schema: {
            tags: ["schedules"],
            summary: `${verb === "pause" ? "Pause" : "Resume"} a schedule`,
            params: IdParams,
            response: { 200: One, ...errors(404) },
          },
        },
        async (request) => ({
          schedule: view(await schedules.setPaused(request.params.id, verb === "pause")),
        }),
      );
    }

    app.post(
      "/schedules/:id/trigger",
      {
        schema: {
          tags: ["schedules"],
          summary: "Run the schedule's job now",
          params: IdParams,
          response: { 201: Type.Object({ job: Type.Ref("Job") }), ...errors(404) },
        },
      },
      async (request, reply) =>
        reply.status(201).send({ job: jobView(await schedules.trigger(request.params.id)) }),
    );

    app.get(
      "/schedules/:id/runs",
      {
        schema: {
          tags: ["schedules"],
          summary: "The jobs a schedule spawned, newest first (execution history)",
          params: IdParams,
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
            cursor: Type.Optional(Type.String({ pattern: "^[0-9]+$" })),
          }),
          response: {
            200: Type.Object({
              items: Type.Array(
                Type.Object({
                  jobId: Type.String(),
                  scheduledTime: Type.Union([Type.Null(), Type.String()]),
                  enqueuedAt: Type.Union([Type.Null(), Type.String()]),
                  startedAt: Type.Union([Type.Null(), Type.String()]),
                  finishedAt: Type.Union([Type.Null(), Type.String()]),
                  status: Type.String(),
                  httpStatus: Type.Union([Type.Null(), Type.Integer()]),
                  durationMs: Type.Union([Type.Null(), Type.Integer()]),
                  error: Type.Unknown(),
                  attempts: Type.Integer(),
                }),
              ),
              nextCursor: Type.Union([Type.Null(), Type.String()]),
            }),
            ...errors(404),
          },
        },
      },
      async (request) => {
        await schedules.get(request.params.id);
        const limit = request.query.limit ?? 50;
        const jobs = await engine.list({
          scheduleId: request.params.id,
          limit,
          beforeSeq: request.query.cursor === undefined ? undefined : Number(request.query.cursor),
        });
        const items = await Promise.all(
          jobs.map(async (j) => {
            const last = (await engine.store.listAttempts(j.id)).at(-1);
            return {
              jobId: j.id,
              scheduledTime: iso(j.scheduledTime),
              enqueuedAt: iso(j.createdAt),
              startedAt: iso(j.startedAt),
              finishedAt: iso(j.finishedAt),
              status: j.status,
              httpStatus: last?.httpStatus ?? null,
              durationMs: j.startedAt !== null && j.finishedAt !== null ? j.finishedAt - j.startedAt : null,
              error: j.error,
              attempts: j.attempts,
            };
          }),
        );
        return { items, nextCursor: jobs.length === limit ? String(jobs.at(-1)!.seq) : null };
      },
    );

    app.get(
      "/alerts",
      {
        schema: {
          tags: ["schedules"],
          summary: "Failure alerts and their delivery outcome, newest first",
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
          }),
        },
      },
      async (request) => ({
        items: (await alerts.listAlerts(request.query.limit ?? 100)).map((a) => ({
          id: a.id,
          jobId: a.jobId,
          scheduleId: a.scheduleId,
          url: a.url,
          status: a.status,
          attempts: a.attempts,
          lastStatus: a.lastStatus,
          lastError: a.lastError,
          nextAttemptAt: a.status === "pending" ? iso(a.nextAttemptAt) : null,
          createdAt: iso(a.createdAt),
          deliveredAt: iso(a.deliveredAt),
        })),
      }),
    );
  };
