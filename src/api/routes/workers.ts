/**
 * The worker protocol (public: workers in any language may implement it; see docs/worker-protocol.md)
 * and worker management. A worker registers, long-polls for jobs, heartbeats its leases, and sends its
 * logs, progress and results in batches. It never touches the database.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { Claim } from "../../core/job.ts";
import type { WorkerService, WorkerView } from "../../engine/worker-service.ts";
import { errors } from "../schemas.ts";

const Labels = Type.Record(Type.String({ maxLength: 100 }), Type.String({ maxLength: 200 }));
const WorkerId = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 200, pattern: "^[A-Za-z0-9_.:@/-]+$" }),
});
const JobErrorIn = Type.Object({
  code: Type.String({ minLength: 1, maxLength: 100 }),
  message: Type.String({ maxLength: 10_000 }),
  details: Type.Optional(Type.Unknown()),
});
const Lease = {
  jobId: Type.String(),
  lease: Type.String({ minLength: 1, maxLength: 100, description: "The claim's lease token (jobs[].lease)" }),
  attempt: Type.Integer({ minimum: 1 }),
};
const LeaseOnly = Type.Object({ jobId: Type.String(), lease: Lease.lease });

const WorkerOut = Type.Object({
  id: Type.String(),
  labels: Labels,
  capacity: Type.Integer(),
  running: Type.Integer(),
  types: Type.Array(Type.String()),
  queues: Type.Union([Type.Null(), Type.Array(Type.String())]),
  version: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal("active"), Type.Literal("draining"), Type.Literal("lost")]),
  registeredAt: Type.String({ format: "date-time" }),
  lastSeenAt: Type.String({ format: "date-time" }),
});

const ClaimOut = Type.Object({
  id: Type.String(),
  attempt: Type.Integer(),
  lease: Type.String({ description: "This claim's token: every report on the attempt names it" }),
  type: Type.String(),
  queue: Type.String(),
  payload: Type.Unknown(),
  timeoutMs: Type.Union([Type.Null(), Type.Integer()]),
  maxAttempts: Type.Integer(),
  leaseExpiresAt: Type.String({ format: "date-time" }),
  scheduledTime: Type.Union([Type.Null(), Type.String({ format: "date-time" })]),
});

const workerView = (w: WorkerView) => ({
  id: w.id,
  labels: w.labels,
  capacity: w.capacity,
  running: w.running,
  types: w.types,
  queues: w.queues,
  version: w.version,
  status: w.status,
  registeredAt: new Date(w.registeredAt).toISOString(),
  lastSeenAt: new Date(w.lastSeenAt).toISOString(),
});

const claimView = (c: Claim) => ({
  id: c.id,
  attempt: c.attempt,
  lease: c.lease,
  type: c.type,
  queue: c.queue,
  payload: c.payload,
  timeoutMs: c.timeoutMs,
  maxAttempts: c.maxAttempts,
  leaseExpiresAt: new Date(c.leaseExpiresAt).toISOString(),
  scheduledTime: c.scheduledTime === null ? null : new Date(c.scheduledTime).toISOString(),
});

export const workerRoutes =
  (workers: WorkerService): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      "/workers",
      {
        config: { access: { resource: "worker", verb: "read" } },
        schema: {
          operationId: "listWorkers",
          tags: ["workers"],
          summary: "Registered workers with their load and status",
          response: { 200: Type.Object({ items: Type.Array(WorkerOut) }) },
        },
      },
      async () => ({ items: (await workers.list()).map(workerView) }),
    );

    app.post(
      "/workers/:id/drain",
      {
        config: { access: { resource: "worker", verb: "act" } },
        schema: {
          operationId: "drainWorker",
          tags: ["workers"],
          summary: "Give this worker no new jobs; its running jobs finish",
          params: WorkerId,
          description: 'An optional body `{"draining": false}` undoes a drain.',
          response: { 200: Type.Object({ worker: WorkerOut }), ...errors(404) },
        },
      },
      async (request) => {
        const body = request.body as unknown as { draining?: unknown } | undefined;
        const draining = body?.draining === undefined ? true : body.draining === true;
        const by = { principal: request.principal, origin: { ip: request.ip } };
        return { worker: workerView(await workers.drain(request.params.id, draining, by)) };
      },
    );

    app.post(
      "/workers/register",
      {
        config: { access: { resource: "workerProtocol", verb: "act" } },
        schema: {
          operationId: "registerWorker",
          tags: ["worker protocol"],
          summary: "Register (or re-register) a worker; the id is chosen by the worker and stable",
          body: Type.Object(
            {
              id: WorkerId.properties.id,
              labels: Type.Optional(Labels),
              capacity: Type.Integer({ minimum: 1, maximum: 10_000 }),
              types: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 1000 }),
              queues: Type.Optional(Type.Union([Type.Null(), Type.Array(Type.String())])),
              running: Type.Optional(Type.Integer({ minimum: 0 })),
              version: Type.Optional(Type.String({ maxLength: 100 })),
              instance: Type.Optional(
                Type.String({
                  minLength: 1,
                  maxLength: 100,
                  description:
                    "Random per worker process start. A registration with another instance than the id's last one means the previous process died: its running attempts end at once as WORKER_LOST and are retried per their policy. The same instance registering again keeps its jobs. Without it, a dead process's jobs wait for their leases to expire.",
                }),
              ),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              worker: WorkerOut,
              heartbeatMs: Type.Integer({ description: "Send a heartbeat this often" }),
              leaseMs: Type.Integer({ description: "A lease not renewed for this long is lost" }),
              maxPollWaitMs: Type.Integer(),
              httpPolicy: Type.Object(
                {
                  allow: Type.Array(Type.String()),
                  deny: Type.Array(Type.String()),
                },
                {
                  description:
                    "What http jobs may reach besides public addresses (the server's httpAllow and httpDeny): a worker applies it to every request it makes for a job (docs/security.md, Outbound requests)",
                },
              ),
            }),
          },
        },
      },
      async (request) => {
        const b = request.body;
        const record = await workers.register(
          {
            id: b.id,
            labels: b.labels ?? {},
            capacity: b.capacity,
            types: b.types,
            queues: b.queues ?? null,
            version: b.version ?? null,
            running: b.running ?? 0,
            instance: b.instance ?? null,
          },
          request.principal,
        );
        return {
          worker: workerView(workers.view(record)),
          heartbeatMs: workers.heartbeatMs,
          leaseMs: workers.lostAfterMs,
          maxPollWaitMs: 30_000,
          httpPolicy: { allow: [...workers.httpPolicy.allow], deny: [...workers.httpPolicy.deny] },
        };
      },
    );

    app.post(
      "/workers/:id/poll",
      {
        config: { access: { resource: "workerProtocol", verb: "act" } },
        schema: {
          operationId: "pollForJobs",
          tags: ["worker protocol"],
          summary:
            "Long-poll for up to `slots` jobs; answers at once when jobs are ready, else within waitMs",
          params: WorkerId,
          body: Type.Object(
            {
              slots: Type.Integer({ minimum: 1, maximum: 10_000 }),
              running: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
              waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000, default: 25_000 })),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ jobs: Type.Array(ClaimOut), drain: Type.Boolean() }),
            ...errors(404),
          },
        },
      },
      async (request, reply) => {
        const abort = new AbortController();
        reply.raw.on("close", () => abort.abort());
        const { jobs, drain } = await workers.poll(
          request.params.id,
          {
            slots: request.body.slots,
            running: request.body.running ?? 0,
            waitMs: request.body.waitMs ?? 25_000,
            signal: abort.signal,
          },
          request.principal,
        );
        if (abort.signal.aborted && jobs.length > 0) {
          // The worker hung up while we claimed for it: give the jobs back at once.
          await workers.report(
            request.params.id,
            {
              released: jobs.map((j) => ({ jobId: j.id, lease: j.lease, attempt: j.attempt })),
            },
            request.principal,
          );
          return reply.send({ jobs: [], drain });
        }
        return { jobs: jobs.map(claimView), drain };
      },
    );

    app.post(
      "/workers/:id/heartbeat",
      {
        config: { access: { resource: "workerProtocol", verb: "act" } },
        schema: {
          operationId: "sendHeartbeat",
          tags: ["worker protocol"],
          summary: "Renew the leases of running jobs; answers which to abort and whether to drain",
          params: WorkerId,
          body: Type.Object(
            {
              leases: Type.Array(LeaseOnly, { maxItems: 10_000 }),
              running: Type.Optional(Type.Integer({ minimum: 0 })),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ abort: Type.Array(Type.String()), drain: Type.Boolean() }),
            ...errors(404),
          },
        },
      },
      async (request) =>
        workers.heartbeat(
          request.params.id,
          request.body.leases,
          request.body.running ?? request.body.leases.length,
          request.principal,
        ),
    );

    app.post(
      "/workers/:id/reports",
      {
        config: { access: { resource: "workerProtocol", verb: "act" } },
        schema: {
          operationId: "sendReports",
          tags: ["worker protocol"],
          summary:
            "A batch of logs, progress and attempt results; stale reports (lost leases) are listed, not applied",
          params: WorkerId,
          body: Type.Object(
            {
              logs: Type.Optional(
                Type.Array(
                  Type.Object({
                    jobId: Type.String(),
                    at: Type.Integer(),
                    stream: Type.Union([
                      Type.Literal("stdout"),
                      Type.Literal("stderr"),
                      Type.Literal("system"),
                    ]),
                    data: Type.String(),
                  }),
                ),
              ),
              progress: Type.Optional(
                Type.Array(
                  Type.Object({
                    jobId: Lease.jobId,
                    lease: Lease.lease,
                    progress: Type.Number({ minimum: 0, maximum: 100 }),
                  }),
                ),
              ),
              completed: Type.Optional(
                Type.Array(
                  Type.Object({
                    ...Lease,
                    result: Type.Optional(Type.Unknown()),
                    exitCode: Type.Optional(Type.Union([Type.Null(), Type.Integer()])),
                    httpStatus: Type.Optional(Type.Union([Type.Null(), Type.Integer()])),
                  }),
                ),
              ),
              failed: Type.Optional(
                Type.Array(
                  Type.Object({
                    ...Lease,
                    error: JobErrorIn,
                    retryable: Type.Optional(Type.Boolean({ default: true })),
                    exitCode: Type.Optional(Type.Union([Type.Null(), Type.Integer()])),
                    httpStatus: Type.Optional(Type.Union([Type.Null(), Type.Integer()])),
                  }),
                ),
              ),
              released: Type.Optional(Type.Array(Type.Object(Lease))),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ stale: Type.Array(Type.String()) }), ...errors(404) },
        },
      },
      async (request) => {
        const b = request.body;
        return workers.report(
          request.params.id,
          {
            logs: b.logs,
            progress: b.progress,
            completed: b.completed?.map((c) => ({ ...c, result: c.result ?? null })),
            failed: b.failed?.map((f) => ({ ...f, retryable: f.retryable ?? true })),
            released: b.released,
          },
          request.principal,
        );
      },
    );
  };
