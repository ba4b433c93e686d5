/**
 * GET /api/v1/metrics (JSON for people and scripts) and GET /metrics (Prometheus text, prom-client).
 * Both read the same numbers: job counts by status and queue, finished jobs per second over the last
 * minute, and worker utilisation.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { Type } from "typebox";
import type { ApiContext } from "../context.ts";

const Counts = Type.Record(Type.String(), Type.Integer());

export const MetricsBody = Type.Object({
  nodeId: Type.String(),
  uptimeSeconds: Type.Number(),
  counts: Type.Optional(
    Type.Object(
      { byStatus: Counts, byQueue: Type.Record(Type.String(), Counts) },
      { description: "Absent with ?counts=false" },
    ),
  ),
  throughput: Type.Object({
    jobsPerSecond: Type.Number({ description: "Finished jobs/s over the last minute, this node" }),
    finishedTotal: Type.Integer({ description: "Jobs finished through this node since it started" }),
  }),
  workers: Type.Object({ running: Type.Integer(), capacity: Type.Integer(), utilisation: Type.Number() }),
  extra: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

export type MetricsProvider = () => Promise<Record<string, unknown>>;

const MetricsQuery = Type.Object({
  counts: Type.Boolean({
    default: true,
    description:
      "false skips the counts by status and queue, which read the whole job table: for frequent polling",
  }),
});

async function snapshot(ctx: ApiContext, extra: MetricsProvider[], withCounts = true) {
  const now = ctx.engine.clock.now();
  const counts = withCounts ? await ctx.engine.store.counts() : undefined;
  const usage = await ctx.workerUsage();
  const more = Object.assign({}, ...(await Promise.all(extra.map((p) => p()))));
  return {
    nodeId: ctx.nodeId,
    uptimeSeconds: (now - ctx.startedAt) / 1000,
    ...(counts ? { counts } : {}),
    throughput: {
      jobsPerSecond: ctx.engine.throughput.perSecond(now),
      finishedTotal: ctx.engine.throughput.total,
    },
    workers: { ...usage, utilisation: usage.capacity === 0 ? 0 : usage.running / usage.capacity },
    ...(Object.keys(more).length > 0 ? { extra: more } : {}),
  };
}

export const metricsRoutes =
  (ctx: ApiContext, extra: MetricsProvider[] = []): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      "/api/v1/metrics",
      {
        schema: {
          operationId: "getMetrics",
          tags: ["system"],
          summary: "Counts, throughput and utilisation (JSON)",
          querystring: MetricsQuery,
          response: { 200: MetricsBody },
        },
      },
      (request) => snapshot(ctx, extra, request.query.counts),
    );

    // One registry per app: tests start many nodes in one process.
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: "bosun_" });
    const jobs = new Gauge({
      name: "bosun_jobs",
      help: "Jobs by status and queue",
      labelNames: ["status", "queue"],
      registers: [registry],
    });
    const rate = new Gauge({
      name: "bosun_jobs_finished_per_second",
      help: "Finished jobs/s over the last minute (this node)",
      registers: [registry],
    });
    const finished = new Counter({
      name: "bosun_jobs_finished_total",
      help: "Jobs finished through this node since it started",
      registers: [registry],
    });
    let finishedSeen = 0;
    const util = new Gauge({
      name: "bosun_worker_utilisation",
      help: "Running attempts / capacity",
      registers: [registry],
    });
    const running = new Gauge({
      name: "bosun_worker_running",
      help: "Running attempts",
      registers: [registry],
    });
    const capacity = new Gauge({
      name: "bosun_worker_capacity",
      help: "Worker slots",
      registers: [registry],
    });
    const extraGauge = new Gauge({
      name: "bosun_metric",
      help: "Other numeric metrics by name",
      labelNames: ["name"],
      registers: [registry],
    });

    app.get(
      "/metrics",
      {
        schema: {
          operationId: "getPrometheusMetrics",
          tags: ["system"],
          summary: "Prometheus metrics",
          produces: ["text/plain"],
          response: { 200: Type.String({ description: "Prometheus text exposition format" }) },
        },
      },
      async (_req, reply) => {
        const s = await snapshot(ctx, extra);
        jobs.reset();
        for (const [queue, byStatus] of Object.entries(s.counts?.byQueue ?? {}))
          for (const [status, n] of Object.entries(byStatus)) jobs.set({ status, queue }, n);
        rate.set(s.throughput.jobsPerSecond);
        finished.inc(s.throughput.finishedTotal - finishedSeen);
        finishedSeen = s.throughput.finishedTotal;
        util.set(s.workers.utilisation);
        running.set(s.workers.running);
        capacity.set(s.workers.capacity);
        extraGauge.reset();
        for (const [name, v] of flatten(s.extra ?? {})) extraGauge.set({ name }, v);
        return reply.type(registry.contentType).send(await registry.metrics());
      },
    );
  };

function* flatten(obj: Record<string, unknown>, prefix = ""): Generator<[string, number]> {
  for (const [k, v] of Object.entries(obj)) {
    const name = prefix ? `${prefix}_${k}` : k;
    if (typeof v === "number" && Number.isFinite(v)) yield [name, v];
    else if (v && typeof v === "object") yield* flatten(v as Record<string, unknown>, name);
  }
}
