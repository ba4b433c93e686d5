/**
 * GET /api/v1/alerts: failure alerts (seed 002's AlertService) and the outcome of their delivery. An alert
 * is about a job: the caller sees the alerts of the jobs it may read (a member its own, JobAccess).
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { listFilter } from "../../auth/policy.ts";
import type { Engine } from "../../engine/engine.ts";
import { JobAccess } from "../../engine/job-access.ts";
import type { Alert, AlertStore } from "../../scheduler/schedule-store.ts";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const Time = Type.Union([Type.Null(), Type.String({ format: "date-time" })]);

export function alertView(a: Alert) {
  return {
    id: a.id,
    jobId: a.jobId,
    scheduleId: a.scheduleId,
    url: a.url,
    signed: a.secret !== null,
    status: a.status,
    attempts: a.attempts,
    lastStatus: a.lastStatus,
    lastError: a.lastError,
    nextAttemptAt: a.status === "pending" ? iso(a.nextAttemptAt) : null,
    createdAt: iso(a.createdAt),
    deliveredAt: iso(a.deliveredAt),
  };
}

const MAX_LIMIT = 500;

const AlertOut = Type.Object({
  id: Type.String(),
  jobId: Type.String(),
  scheduleId: Type.Union([Type.Null(), Type.String()]),
  url: Type.String(),
  signed: Type.Boolean({ description: "Sent with X-Bosun-Signature" }),
  status: Type.Union([Type.Literal("pending"), Type.Literal("delivered"), Type.Literal("failed")]),
  attempts: Type.Integer({ description: "Delivery attempts so far" }),
  lastStatus: Type.Union([Type.Null(), Type.Integer()], { description: "HTTP status of the last attempt" }),
  lastError: Type.Union([Type.Null(), Type.String()]),
  nextAttemptAt: Time,
  createdAt: Time,
  deliveredAt: Time,
});

export const alertRoutes =
  (alerts: AlertStore, engine: Engine): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      "/alerts",
      {
        config: { access: { resource: "job", verb: "read" } },
        schema: {
          operationId: "listAlerts",
          tags: ["schedules"],
          summary: "Failure alerts and their delivery outcome, newest first",
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: 100 })),
          }),
          response: { 200: Type.Object({ items: Type.Array(AlertOut) }) },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? 100;
        const jobs = new JobAccess(engine, request.principal);
        // The store lists every owner's alerts: a caller that sees only its own jobs' reads the newest
        // MAX_LIMIT and keeps its own, so others' alerts neither show nor count against its limit.
        const own = listFilter(request.principal, "job")?.owner !== undefined;
        const newest = await alerts.listAlerts(own ? MAX_LIMIT : limit);
        const readable = await jobs.readable(newest.map((a) => a.jobId));
        return {
          items: newest
            .filter((a) => readable.has(a.jobId))
            .slice(0, limit)
            .map(alertView),
        };
      },
    );
  };
