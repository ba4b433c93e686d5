/**
 * GET /api/v1/events: job changes as they happen, as Server-Sent Events or, on an upgrade of the same
 * path, a WebSocket (docs/api.md, "Live events"). Any node serves it: the stream reads the shared change
 * feed, so jobs submitted to and run by other nodes show up too. What a stream holds and how it ends is in
 * events/event-stream.ts; the two transports are events/sse-sink.ts and events/ws-sink.ts.
 */

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { listFilter } from "../../auth/policy.ts";
import type { Principal } from "../../auth/principal.ts";
import { BosunError } from "../../core/errors.ts";
import { JobAccess } from "../../engine/job-access.ts";
import type { ApiContext } from "../context.ts";
import { EventStream, HEARTBEAT_MS, MAX_BUFFERED } from "../events/event-stream.ts";
import {
  ErrorMessageSchema,
  HeartbeatMessageSchema,
  JobMessageSchema,
  LogMessageSchema,
  ProgressMessageSchema,
  ReadyMessageSchema,
} from "../events/messages.ts";
import { EventsQuery, type EventsQueryValue, parseEventsRequest } from "../events/query.ts";
import { SseSink } from "../events/sse-sink.ts";
import { WsSink } from "../events/ws-sink.ts";
import { errors } from "../schemas.ts";

const DESCRIPTION = `Server-Sent Events (\`Accept: text/event-stream\`), or a WebSocket on an upgrade of the same URL.
Each message is JSON with a \`kind\`: ready (first), job (a change; SSE \`event:\` is its lifecycle event and \`id:\` its cursor), log and progress (logs=true, progress=true, with jobId), heartbeat (WebSocket; SSE sends a comment and an \`id:\` every ${HEARTBEAT_MS / 1000} s), error (last).
A reconnect with since= (or Last-Event-ID) set to the last cursor gets every later change once, in order.
A client more than ${MAX_BUFFERED} bytes behind is sent error EVENTS_TOO_SLOW and closed (WebSocket close code 4429); a cursor older than the retained feed is 410 EVENTS_EXPIRED (WebSocket: that error, then close code 4410).`;

export const eventRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    const deps = {
      feed: ctx.feed,
      store: ctx.engine.store,
      bus: ctx.engine.bus,
      onError: (err: unknown) => ctx.logger.error({ err }, "event stream failed"),
    };
    /**
     * The caller sees the changes of the jobs it may read (auth/policy.ts): a member its own, whatever
     * owner= it asks for. A job named for its log must be one it may read (else 404, as for GET /jobs/:id).
     */
    const streamFor = async (
      principal: Principal,
      query: EventsQueryValue,
      lastEventId: string | string[] | undefined,
    ) => {
      const filter = listFilter(principal, "event");
      if (!filter) throw new BosunError("FORBIDDEN", `The ${principal.role} role may not read events`);
      if (query.jobId !== undefined && (query.logs || query.progress))
        await new JobAccess(ctx.engine, principal).requireLogs(query.jobId);
      const req = parseEventsRequest(query, typeof lastEventId === "string" ? lastEventId : undefined);
      const owner = filter.owner;
      return new EventStream(
        deps,
        owner === undefined ? req : { ...req, match: (e) => e.owner === owner && req.match(e) },
      );
    };

    app.route({
      method: "GET",
      url: "/events",
      config: { access: { resource: "event", verb: "read" } },
      schema: {
        operationId: "streamEvents",
        tags: ["jobs"],
        summary: "Job changes, log lines and progress as they happen (SSE or WebSocket)",
        description: DESCRIPTION,
        querystring: EventsQuery,
        response: {
          200: {
            description: "An event stream; each message's data is one of these",
            content: {
              "text/event-stream": {
                schema: Type.Union([
                  ReadyMessageSchema,
                  JobMessageSchema,
                  LogMessageSchema,
                  ProgressMessageSchema,
                  HeartbeatMessageSchema,
                  ErrorMessageSchema,
                ]),
              },
            },
          },
          ...errors(404, 410),
        },
      },
      handler: async (request, reply) => {
        const stream = await streamFor(request.principal, request.query, request.headers["last-event-id"]);
        // Before the 200: an unknown job or an expired cursor is still an HTTP error with its body.
        await stream.open();
        reply.hijack();
        stream.run(new SseSink(reply.raw));
      },
      wsHandler: async (socket, request) => {
        const sink = new WsSink(socket);
        // A browser's WebSocket cannot read an HTTP status: refusals are an error message and a close code.
        try {
          const stream = await streamFor(request.principal, request.query as EventsQueryValue, undefined);
          await stream.open();
          stream.run(sink);
        } catch (err) {
          if (!(err instanceof BosunError)) throw err;
          sink.close(err);
        }
      },
    });
  };
