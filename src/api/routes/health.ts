/** Liveness (the process answers) and readiness (the store answers, migrations applied, not stopping). */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { ApiContext } from "../context.ts";
import { errors } from "../schemas.ts";

export const healthRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      "/health",
      {
        config: { access: "public" },
        schema: {
          operationId: "getHealth",
          tags: ["system"],
          summary: "Liveness",
          response: {
            200: Type.Object({ status: Type.Literal("ok"), nodeId: Type.String(), version: Type.String() }),
          },
        },
      },
      async () => ({ status: "ok" as const, nodeId: ctx.nodeId, version: ctx.version }),
    );

    app.get(
      "/ready",
      {
        config: { access: "public" },
        schema: {
          operationId: "getReadiness",
          tags: ["system"],
          summary: "Readiness: the store answers and the node is not shutting down",
          response: { 200: Type.Object({ status: Type.Literal("ready") }), ...errors(503) },
        },
      },
      async (_request, reply) => {
        if (!ctx.isReady())
          return reply
            .status(503)
            .send({ error: { code: "NOT_READY", message: "The node is starting or stopping" } });
        try {
          await ctx.engine.store.ping();
        } catch (err) {
          return reply
            .status(503)
            .send({ error: { code: "NOT_READY", message: `The store does not answer: ${String(err)}` } });
        }
        return { status: "ready" as const };
      },
    );
  };
