/**
 * GET /api/v1/events's query: which job changes a client wants (filters on the feed row), where it starts
 * (since= or SSE's Last-Event-ID, both a cursor as messages.ts writes it), and the per-job extras.
 */
import { Type } from "typebox";
import { BosunError } from "../../core/errors.ts";
import { JOB_STATUSES } from "../../core/job.ts";
import type { FeedEvent } from "../../store/feed.ts";
import { parseStatuses } from "../routes/jobs.ts";
import type { Cursor } from "./messages.ts";

// 15 digits stay exact as a JavaScript number and inside a PostgreSQL bigint (as the jobs cursor).
const CURSOR = /^([0-9]{1,15})(?::([0-9]{1,15}))?$/;

const Name = (description: string) =>
  Type.Optional(Type.String({ minLength: 1, maxLength: 200, description }));

export const EventsQuery = Type.Object({
  jobId: Name("Only this job's changes"),
  queue: Name("Only jobs of this queue"),
  type: Name("Only jobs of this type"),
  status: Type.Optional(
    Type.String({ description: `The status after the change, comma-separated: ${JOB_STATUSES.join(", ")}` }),
  ),
  scheduleId: Name("Only jobs fired by this schedule"),
  owner: Name("Only jobs of this owner"),
  since: Type.Optional(
    Type.String({
      pattern: CURSOR.source,
      description:
        "Start after this cursor (a message's id): every change after it, once, in order. Without it the stream starts now. SSE's Last-Event-ID header, when sent, wins.",
    }),
  ),
  follow: Type.Optional(
    Type.Boolean({
      default: true,
      description: "false: the retained changes after since, then the stream ends (no live part)",
    }),
  ),
  logs: Type.Optional(Type.Boolean({ default: false, description: "With jobId: the job's log lines too" })),
  progress: Type.Optional(
    Type.Boolean({ default: false, description: "With jobId: the job's progress when it changes" }),
  ),
});

export interface EventsRequest {
  match: (e: FeedEvent) => boolean;
  jobId: string | undefined;
  logs: boolean;
  progress: boolean;
  /** False: end once the past is sent. */
  follow: boolean;
  /** Null: start from now. */
  since: Cursor | null;
}

export type EventsQueryValue = {
  jobId?: string;
  queue?: string;
  type?: string;
  status?: string;
  scheduleId?: string;
  owner?: string;
  since?: string;
  follow?: boolean;
  logs?: boolean;
  progress?: boolean;
};

export function parseEventsRequest(q: EventsQueryValue, lastEventId: string | undefined): EventsRequest {
  const logs = q.logs === true;
  const progress = q.progress === true;
  if ((logs || progress) && !q.jobId)
    throw new BosunError("VALIDATION_FAILED", "logs=true and progress=true need a jobId");
  const listed = parseStatuses(q.status);
  const statuses = listed && new Set<string>(listed);
  const filters: ((e: FeedEvent) => boolean)[] = [];
  if (q.jobId !== undefined) filters.push((e) => e.jobId === q.jobId);
  if (q.queue !== undefined) filters.push((e) => e.queue === q.queue);
  if (q.type !== undefined) filters.push((e) => e.type === q.type);
  if (q.scheduleId !== undefined) filters.push((e) => e.scheduleId === q.scheduleId);
  if (q.owner !== undefined) filters.push((e) => e.owner === q.owner);
  if (statuses) filters.push((e) => e.to !== null && statuses.has(e.to));
  // EventSource sends Last-Event-ID on its reconnects to the URL it was given, since= included: the
  // header is the newer position.
  const raw = lastEventId?.trim() || q.since;
  return {
    match: (e) => filters.every((f) => f(e)),
    jobId: q.jobId,
    logs,
    progress,
    follow: q.follow !== false,
    since: raw === undefined ? null : parseCursor(raw, logs),
  };
}

function parseCursor(raw: string, logs: boolean): Cursor {
  const m = CURSOR.exec(raw);
  if (!m)
    throw new BosunError("VALIDATION_FAILED", `Last-Event-ID "${raw}" is not a cursor (<seq>[:<logSeq>])`);
  const logSeq = m[2] === undefined ? 0 : Number(m[2]);
  return { seq: Number(m[1]), logSeq: logs ? logSeq : null };
}
