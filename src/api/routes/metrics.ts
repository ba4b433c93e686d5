/**
 * GET /api/v1/metrics (JSON for people and scripts) and GET /metrics (Prometheus text, prom-client).
 * Both read the same numbers: job counts by status and queue, finished jobs per second over the last
 * minute, and worker utilisation.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { Type } from "typebox";
import { FeedCounters, type FeedCounts } from "../../engine/feed-counters.ts";
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
  changes: Type.Optional(
    Type.Object(
      {
        byEvent: Type.Record(Type.String(), Counts, {
          description: "Changes by lifecycle event, then queue",
        }),
        failuresByCode: Counts,
        skips: Type.Integer({ description: "Reads that found changes already deleted by retention" }),
        seq: Type.Integer({ description: "The last change counted" }),
      },
      {
        description:
          "Job changes of every node since this node started, read from the change feed (do not sum over nodes); absent with ?counts=false",
      },
    ),
  ),
  extra: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

export type MetricsProvider = () => Promise<Record<string, unknown>>;

const MetricsQuery = Type.Object({
  counts: Type.Boolean({
    default: true,
    description:
      "false skips the counts by status and queue, which read the whole job table, and the change counters, which read the change feed: for frequent polling",
  }),
});

async function snapshot(ctx: ApiContext, feed: FeedCounters, extra: MetricsProvider[], withCounts = true) {
  const now = ctx.engine.clock.now();
  const counts = withCounts ? await ctx.engine.store.counts() : undefined;
  const changes = withCounts ? await feed.read() : undefined;
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
    ...(changes
      ? {
          changes: {
            byEvent: changes.changes,
            failuresByCode: changes.failures,
            skips: changes.skips,
            seq: changes.seq,
          },
        }
      : {}),
    ...(Object.keys(more).length > 0 ? { extra: more } : {}),
  };
}

export const metricsRoutes =
  (ctx: ApiContext, extra: MetricsProvider[] = []): FastifyPluginAsyncTypebox =>
  async (app) => {
    const feed = new FeedCounters(ctx.engine.store);
    // Counting starts when the node starts, not at its first scrape.
    await feed.read();
    app.get(
      "/api/v1/metrics",
      {
        config: { access: { resource: "metrics", verb: "read" } },
        schema: {
          operationId: "getMetrics",
          tags: ["system"],
          summary: "Counts, throughput and utilisation (JSON)",
          querystring: MetricsQuery,
          response: { 200: MetricsBody },
        },
      },
      (request) => snapshot(ctx, feed, extra, request.query.counts),
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
    const changes = new Counter({
      name: "bosun_job_changes_total",
      help: "Job changes of every node by lifecycle event and queue, from the change feed (do not sum over nodes)",
      labelNames: ["event", "queue"],
      registers: [registry],
    });
    const failures = new Counter({
      name: "bosun_job_attempt_failures_total",
      help: "Failed attempts of every node by error code, from the change feed (do not sum over nodes)",
      labelNames: ["code"],
      registers: [registry],
    });
    const counted = new Map<string, number>();
    const advance = (c: FeedCounts["changes"], f: FeedCounts["failures"]) => {
      for (const [event, byQueue] of Object.entries(c))
        for (const [queue, n] of Object.entries(byQueue)) {
          const key = `c\0${event}\0${queue}`;
          changes.inc({ event, queue }, n - (counted.get(key) ?? 0));
          counted.set(key, n);
        }
      for (const [code, n] of Object.entries(f)) {
        const key = `f\0${code}`;
        failures.inc({ code }, n - (counted.get(key) ?? 0));
        counted.set(key, n);
      }
    };
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
        config: { access: ctx.config.metricsPublic ? "public" : { resource: "metrics", verb: "read" } },
        schema: {
          operationId: "getPrometheusMetrics",
          tags: ["system"],
          summary: "Prometheus metrics",
          produces: ["text/plain"],
          response: { 200: Type.String({ description: "Prometheus text exposition format" }) },
        },
      },
      async (_req, reply) => {
        const s = await snapshot(ctx, feed, extra);
        jobs.reset();
        for (const [queue, byStatus] of Object.entries(s.counts?.byQueue ?? {}))
          for (const [status, n] of Object.entries(byStatus)) jobs.set({ status, queue }, n);
        rate.set(s.throughput.jobsPerSecond);
        finished.inc(s.throughput.finishedTotal - finishedSeen);
        finishedSeen = s.throughput.finishedTotal;
        if (s.changes) advance(s.changes.byEvent, s.changes.failuresByCode);
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
