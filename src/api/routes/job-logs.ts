/**
 * GET /api/v1/jobs/:id/logs: the job's log as text/plain. With ?follow=true the response streams new lines
 * as they are stored and ends when the job reaches a terminal status (workers store logs before they
 * report the end, so the last read has every line).
 */
import { Readable } from "node:stream";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { isTerminal } from "../../core/job.ts";
import type { Engine } from "../../engine/engine.ts";
import { JobAccess } from "../../engine/job-access.ts";
import type { ApiContext } from "../context.ts";
import { errors, IdParams } from "../schemas.ts";

const PAGE = 1000;

async function* follow(engine: Engine, jobId: string, signal: AbortSignal, followMode: boolean) {
  let after = 0;
  let wake: (() => void) | null = null;
  let pending = true;
  const poke = () => {
    pending = true;
    wake?.();
  };
  const unsubscribe = followMode
    ? [
        engine.bus.subscribe("log", (e) => e.jobId === jobId && poke()),
        engine.bus.subscribe("jobs", (e) => e.jobs.some((j) => j.id === jobId) && poke()),
      ]
    : [];
  const onAbort = () => poke();
  signal.addEventListener("abort", onAbort);
  // Safety net for events from other nodes that never arrive.
  const tick = followMode ? setInterval(poke, 1000) : null;
  try {
    while (!signal.aborted) {
      pending = false;
      const job = followMode ? await engine.store.getJob(jobId) : null;
      for (;;) {
        const chunks = await engine.store.readLogs(jobId, after, PAGE);
        if (chunks.length === 0) break;
        after = chunks.at(-1)!.seq;
        yield chunks.map((c) => c.data).join("");
        if (chunks.length < PAGE) break;
      }
      if (!followMode || !job || isTerminal(job.status)) return;
      if (!pending) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
  } finally {
    for (const u of unsubscribe) u();
    signal.removeEventListener("abort", onAbort);
    if (tick) clearInterval(tick);
  }
}

export const jobLogRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      "/jobs/:id/logs",
      {
        config: { access: { resource: "job", verb: "read" } },
        schema: {
          operationId: "getJobLogs",
          tags: ["jobs"],
          summary: "The job's log (text/plain); follow=true streams until the job ends",
          params: IdParams,
          querystring: Type.Object({ follow: Type.Optional(Type.Boolean({ default: false })) }),
          produces: ["text/plain"],
          response: {
            200: Type.String({ description: "The log's lines, in the order they were written" }),
            ...errors(403, 404),
          },
        },
      },
      async (request, reply) => {
        await new JobAccess(ctx.engine, request.principal).requireLogs(request.params.id);
        const abort = new AbortController();
        reply.raw.on("close", () => abort.abort());
        const stream = Readable.from(
          follow(ctx.engine, request.params.id, abort.signal, request.query.follow === true),
        );
        // The 200 schema documents the text; a stream is sent as it is, never serialized.
        return reply
          .type("text/plain; charset=utf-8")
          .header("cache-control", "no-cache")
          .send(stream as unknown as string);
      },
    );
  };
