/**
 * What GET /api/v1/events sends, the same JSON on both transports: SSE puts it in `data:` (with `event:`
 * and `id:` beside it), WebSocket sends it as one text message. `kind` tells the messages apart; a job
 * message's `type` is the job's type, as everywhere else in the API.
 *
 * A message's position is its cursor (`id:` on SSE): the feed sequence of the last job message, and with
 * logs=true `<seq>:<logSeq>`, so that a client that reconnects with it (since= or Last-Event-ID) gets
 * neither a job change nor a log line twice.
 */
import { Type } from "typebox";
import type { FeedEvent } from "../../store/feed.ts";
import type { StoredLogChunk } from "../../store/store.ts";

const iso = (ms: number) => new Date(ms).toISOString();

export interface Cursor {
  seq: number;
  /** The last log line sent (logs=true only; 0 before the first). */
  logSeq: number | null;
}

export const formatCursor = (c: Cursor): string => (c.logSeq === null ? `${c.seq}` : `${c.seq}:${c.logSeq}`);

/** One message ready for a transport: `json` is what both send, `event` and `id` are SSE's fields. */
export interface Frame {
  event: string;
  id: string | null;
  json: string;
}

export const jobMessage = (e: FeedEvent) => ({
  kind: "job" as const,
  seq: e.seq,
  at: iso(e.at),
  jobId: e.jobId,
  event: e.event,
  from: e.from,
  to: e.to,
  attempt: e.attempt,
  workerId: e.workerId,
  code: e.code,
  owner: e.owner,
  queue: e.queue,
  type: e.type,
  scheduleId: e.scheduleId,
});

export const logMessage = (c: StoredLogChunk) => ({
  kind: "log" as const,
  jobId: c.jobId,
  logSeq: c.seq,
  at: iso(c.at),
  stream: c.stream,
  data: c.data,
});

export const progressMessage = (jobId: string, progress: number) => ({
  kind: "progress" as const,
  jobId,
  progress,
});

/** First on every stream: where it starts (the cursor a reconnect would pass, until a message moves it). */
export const readyMessage = (cursor: Cursor) => ({ kind: "ready" as const, cursor: formatCursor(cursor) });

/** WebSocket, every 15 s: the cursor the server has read up to, matching or not (SSE: an `id:` line). */
export const heartbeatMessage = (cursor: Cursor) => ({
  kind: "heartbeat" as const,
  cursor: formatCursor(cursor),
});

/** The last message before the server closes the stream (EVENTS_EXPIRED, EVENTS_TOO_SLOW). */
export const errorMessage = (code: string, message: string, details?: unknown) => ({
  kind: "error" as const,
  error: details === undefined ? { code, message } : { code, message, details },
});

const CursorSchema = Type.String({ description: "<seq> or, with logs=true, <seq>:<logSeq>" });

export const ReadyMessageSchema = Type.Object(
  { kind: Type.Literal("ready"), cursor: CursorSchema },
  { description: "First message: the stream starts after this cursor (SSE event: ready)" },
);

export const HeartbeatMessageSchema = Type.Object(
  { kind: Type.Literal("heartbeat"), cursor: CursorSchema },
  { description: "WebSocket only, every 15 s: how far the server has read the feed" },
);

export const ErrorMessageSchema = Type.Object(
  {
    kind: Type.Literal("error"),
    error: Type.Object({
      code: Type.String({ description: "EVENTS_EXPIRED or EVENTS_TOO_SLOW" }),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { description: "The last message; the server closes the stream after it (SSE event: error)" },
);

export const errorFrame = (err: { code: string; message: string; details?: unknown }): Frame => ({
  event: "error",
  id: null,
  json: JSON.stringify(errorMessage(err.code, err.message, err.details)),
});

// Schemas of the above, for the OpenAPI document (the stream itself is never serialized by Fastify).
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const JobMessageSchema = Type.Object(
  {
    kind: Type.Literal("job"),
    seq: Type.Integer({ description: "Position in the change feed: increasing, store-wide" }),
    at: Type.String({ format: "date-time" }),
    jobId: Type.String(),
    event: Type.String({ description: "Lifecycle event: enqueue, claim, complete, fail, cancel, …" }),
    from: Nullable(Type.String()),
    to: Nullable(Type.String({ description: "The status after the change; null: the job was removed" })),
    attempt: Type.Integer(),
    workerId: Nullable(Type.String()),
    code: Nullable(Type.String({ description: "The error code of a failure, or a change's reason" })),
    owner: Type.String(),
    queue: Type.String(),
    type: Type.String(),
    scheduleId: Nullable(Type.String()),
  },
  { description: "A job changed state (SSE event: the lifecycle event name)" },
);

export const LogMessageSchema = Type.Object(
  {
    kind: Type.Literal("log"),
    jobId: Type.String(),
    logSeq: Type.Integer({ description: "The line's position in the job's log" }),
    at: Type.String({ format: "date-time" }),
    stream: Type.String({ description: "stdout, stderr or system" }),
    data: Type.String(),
  },
  { description: "logs=true: a chunk of the job's log (SSE event: log)" },
);

export const ProgressMessageSchema = Type.Object(
  { kind: Type.Literal("progress"), jobId: Type.String(), progress: Type.Number() },
  { description: "progress=true: the job's progress changed (SSE event: progress)" },
);
